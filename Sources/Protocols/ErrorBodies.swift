import Canonical

extension GatewayError {
    /// The error body in `clientProtocol`'s own format.
    package func body(for clientProtocol: ClientProtocol) -> JSONValue {
        switch clientProtocol {
        case .openAI, .responses:
            var error: [String: JSONValue] = ["message": .string(message), "type": .string(openAIType)]
            error["param"] = param.map(JSONValue.string) ?? .null
            error["code"] = code.map(JSONValue.string) ?? .null
            return ["error": .object(error)]
        case .anthropic:
            return ["type": "error", "error": ["type": .string(anthropicType), "message": .string(message)]]
        case .gemini:
            return [
                "error": [
                    "code": .integer(Int64(statusCode)), "message": .string(message), "status": .string(geminiStatus),
                ]
            ]
        }
    }

    private var openAIType: String {
        switch kind {
        case .invalidRequest, .requestTooLarge, .headersTooLarge, .unsupportedMediaType, .upstreamRejected:
            "invalid_request_error"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .notFound: "not_found_error"
        case .conflict: "conflict_error"
        case .rateLimited: "rate_limit_error"
        case .budgetExceeded: "budget_exceeded"
        case .upstreamFailed, .upstreamTimeout, .internalError: "api_error"
        case .unavailable: "service_unavailable"
        }
    }

    private var anthropicType: String {
        switch kind {
        case .invalidRequest, .unsupportedMediaType, .upstreamRejected: "invalid_request_error"
        case .requestTooLarge, .headersTooLarge: "request_too_large"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .notFound: "not_found_error"
        case .conflict: "invalid_request_error"
        case .rateLimited, .budgetExceeded: "rate_limit_error"
        case .unavailable: "overloaded_error"
        case .upstreamFailed, .upstreamTimeout, .internalError: "api_error"
        }
    }

    private var geminiStatus: String {
        switch kind {
        case .invalidRequest, .requestTooLarge, .headersTooLarge, .unsupportedMediaType, .upstreamRejected:
            "INVALID_ARGUMENT"
        case .authentication: "UNAUTHENTICATED"
        case .permission: "PERMISSION_DENIED"
        case .notFound: "NOT_FOUND"
        case .conflict: "FAILED_PRECONDITION"
        case .rateLimited, .budgetExceeded: "RESOURCE_EXHAUSTED"
        case .upstreamTimeout: "DEADLINE_EXCEEDED"
        case .unavailable: "UNAVAILABLE"
        case .upstreamFailed, .internalError: "INTERNAL"
        }
    }
}
