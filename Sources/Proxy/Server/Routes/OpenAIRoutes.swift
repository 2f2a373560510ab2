import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The OpenAI-compatible API besides chat completions (``ChatRoutes``): embeddings and the model list.
struct OpenAIRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/embeddings") { request, context in try await embeddings(request, context: context) }
        router.get("/v1/models") { _, context in models(context: context) }
    }

    private func embeddings(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
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

    private func models(context: GatewayContext) -> Response {
        let principal = context.principal!
        let created = Int64(Date().timeIntervalSince1970)
        let data = gateway.configuration.models.filter { principal.allows(model: $0.name) }.map { group -> JSONValue in
            let endpoints = group.endpoints.sorted()
            return [
                "id": .string(group.name), "object": "model", "created": .integer(created), "owned_by": "routershift",
                "capabilities": .array(endpoints.map { .string($0.rawValue) }),
                "endpoints": .array(
                    endpoints.flatMap(\.paths).map { .string($0.replacingOccurrences(of: "{model}", with: group.name)) }
                ),
            ]
        }
        return jsonResponse(["object": "list", "data": .array(data)])
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var result = self
        for field in other { result[field.name] = field.value }
        return result
    }
}
