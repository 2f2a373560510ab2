import HTTPTypes

extension GatewayError {
    /// The HTTP status this error answers with, as Hummingbird sends it.
    public var status: HTTPResponse.Status {
        switch kind {
        case .invalidRequest: .badRequest
        case .authentication: .unauthorized
        case .permission: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .requestTooLarge: .contentTooLarge
        case .headersTooLarge: HTTPResponse.Status(code: 431, reasonPhrase: "Request Header Fields Too Large")
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
}
