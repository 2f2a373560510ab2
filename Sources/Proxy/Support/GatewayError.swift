import HTTPTypes

/// An error the gateway answers with: a kind that fixes the HTTP status and the error type of each
/// protocol, a message for the client, and where useful the offending parameter.
///
/// Messages never contain a provider key or a client key.
public struct GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case invalidRequest
        case authentication
        case permission
        case notFound
        /// The resource is not in a state that allows the request (a task's result before it finished).
        case conflict
        case requestTooLarge
        case unsupportedMediaType
        case rateLimited
        case budgetExceeded
        case upstreamRejected
        case upstreamFailed
        case upstreamTimeout
        case unavailable
        case internalError
    }

    public var kind: Kind
    public var message: String
    public var param: String?
    public var code: String?
    /// Seconds after which a retry may succeed (rate limits, open breakers).
    public var retryAfter: Int?
    /// For `upstreamRejected`: the upstream's own 4xx status, passed on.
    public var upstreamStatus: Int?

    public init(
        _ kind: Kind, _ message: String, param: String? = nil, code: String? = nil, retryAfter: Int? = nil,
        upstreamStatus: Int? = nil
    ) {
        self.kind = kind
        self.message = message
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
        self.upstreamStatus = upstreamStatus
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    public var status: HTTPResponse.Status {
        switch kind {
        case .invalidRequest: .badRequest
        case .authentication: .unauthorized
        case .permission: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .requestTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .rateLimited: .tooManyRequests
        case .budgetExceeded: .tooManyRequests
        case .upstreamRejected: HTTPResponse.Status(code: upstreamStatus ?? 400)
        case .upstreamFailed: .badGateway
        case .upstreamTimeout: .gatewayTimeout
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }

    // MARK: - Common errors

    static func invalid(_ message: String, param: String? = nil) -> GatewayError {
        GatewayError(.invalidRequest, message, param: param, code: "invalid_request")
    }

    static func unknownModel(_ model: String) -> GatewayError {
        GatewayError(
            .notFound, "The model `\(model)` does not exist or is not configured on this gateway.", param: "model",
            code: "model_not_found")
    }
}
