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
        /// The request's headers are larger than the gateway accepts (431).
        case headersTooLarge
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

    /// The HTTP status this error answers with (the upstream's own for `upstreamRejected`).
    public var statusCode: Int {
        switch kind {
        case .invalidRequest: 400
        case .authentication: 401
        case .permission: 403
        case .notFound: 404
        case .conflict: 409
        case .requestTooLarge: 413
        case .headersTooLarge: 431
        case .unsupportedMediaType: 415
        case .rateLimited, .budgetExceeded: 429
        case .upstreamRejected: upstreamStatus ?? 400
        case .upstreamFailed: 502
        case .upstreamTimeout: 504
        case .unavailable: 503
        case .internalError: 500
        }
    }

    // MARK: - Common errors

    package static func invalid(_ message: String, param: String? = nil) -> GatewayError {
        GatewayError(.invalidRequest, message, param: param, code: "invalid_request")
    }

    package static func unknownModel(_ model: String) -> GatewayError {
        GatewayError(
            .notFound, "The model `\(model)` does not exist or is not configured on this gateway.", param: "model",
            code: "model_not_found")
    }
}
