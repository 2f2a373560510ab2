import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The OpenAI-compatible API besides chat completions (``ChatRoutes``) and the model list
/// (``ModelListRoutes``): embeddings.
struct OpenAIRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/embeddings") { request, context in try await embeddings(request, context: context) }
    }

    private func embeddings(_ request: Request, context: GatewayContext) async throws -> Response {
        try await embeddings(
            try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes), context: context)
    }

    /// An embeddings request body, validated and routed to the model's embedding deployments.
    func embeddings(_ body: JSONValue, context: GatewayContext) async throws -> Response {
        let fields = try JSONFields(body)
        let model = try fields.requiredString("model")
        guard let input = fields.value("input") else {
            throw GatewayError.invalid("`input` is required.", param: "input")
        }
        let isValidInput: Bool
        switch input {
        case .string: isValidInput = true
        case .array(let items):
            isValidInput =
                !items.isEmpty
                && (items.allSatisfy { $0.string != nil } || items.allSatisfy { $0.integer != nil }
                    || items.allSatisfy { $0.array?.allSatisfy { $0.integer != nil } == true })
        default: isValidInput = false
        }
        guard isValidInput else {
            throw GatewayError.invalid(
                "`input` must be a string, an array of strings, or token arrays, and not empty.", param: "input")
        }
        return try await gateway.passthrough.json(
            body, endpoint: .embeddings, path: "/embeddings", model: model, principal: context.principal!,
            channel: context.channel)
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var result = self
        for field in other { result[field.name] = field.value }
        return result
    }
}
