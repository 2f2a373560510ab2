import Foundation
import HTTPTypes
import Hummingbird
import RouterShiftConfiguration

/// The model groups a key may use, listed and looked up in each protocol's shape: OpenAI's
/// (`GET /v1/models`, `GET /v1/models/{id}`), Anthropic's on the same paths when the request carries
/// `anthropic-version` (the Anthropic SDKs always send it), and Gemini's (`GET /v1beta/models`,
/// `GET /v1beta/models/{model}`). An unknown or forbidden model is a 404 in the caller's format.
struct ModelListRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.get("/v1/models") { request, context in
            let groups = visibleGroups(context)
            guard !Self.isAnthropic(request) else { return jsonResponse(Self.anthropicList(groups)) }
            return jsonResponse(["object": "list", "data": .array(groups.map(openAIModel))])
        }
        // `:action` because the POST routes of the same paths (Gemini's `{model}:{action}`) name it so.
        router.get("/v1/models/:action") { request, context in
            let id = context.parameters.get("action") ?? ""
            let anthropic = Self.isAnthropic(request)
            guard let group = visibleGroups(context).first(where: { $0.name == id }) else {
                let error = GatewayError.unknownModel(id)
                guard anthropic else { throw error }
                return jsonResponse(error.body(for: .anthropic), status: .notFound)
            }
            return jsonResponse(anthropic ? Self.anthropicModel(group) : openAIModel(group))
        }
        router.get("/v1beta/models") { _, context in
            jsonResponse(["models": .array(visibleGroups(context).map(Self.geminiModel))])
        }
        router.get("/v1beta/models/:action") { _, context in
            let name = context.parameters.get("action") ?? ""
            guard let group = visibleGroups(context).first(where: { $0.name == name }) else {
                throw GatewayError.unknownModel(name)
            }
            return jsonResponse(Self.geminiModel(group))
        }
    }

    private func visibleGroups(_ context: GatewayContext) -> [GatewayConfiguration.ModelGroup] {
        let principal = context.principal!
        return gateway.configuration.models.filter { principal.allows(model: $0.name) }
    }

    /// Whether the caller speaks Anthropic's API: `anthropic-version` is sent by every Anthropic SDK, and
    /// `x-api-key` alone (without `Authorization`) is how Anthropic clients authenticate.
    static func isAnthropic(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("anthropic-version")!] != nil
            || (request.headers[HTTPField.Name("x-api-key")!] != nil && request.headers[.authorization] == nil)
    }

    // MARK: - Shapes

    /// OpenAI's model object, with the group's endpoints as an extension.
    private func openAIModel(_ group: GatewayConfiguration.ModelGroup) -> JSONValue {
        let endpoints = group.endpoints.sorted()
        return [
            "id": .string(group.name), "object": "model", "created": .integer(Int64(gateway.clock.wallTime())),
            "owned_by": "routershift", "capabilities": .array(endpoints.map { .string($0.rawValue) }),
            "endpoints": .array(
                endpoints.flatMap(\.paths).map { .string($0.replacingOccurrences(of: "{model}", with: group.name)) }),
        ]
    }

    static func anthropicModel(_ group: GatewayConfiguration.ModelGroup) -> JSONValue {
        [
            "type": "model", "id": .string(group.name), "display_name": .string(group.name),
            "created_at": "1970-01-01T00:00:00Z",
        ]
    }

    /// Anthropic's page of models: every group in one page.
    static func anthropicList(_ groups: [GatewayConfiguration.ModelGroup]) -> JSONValue {
        [
            "data": .array(groups.map(anthropicModel)), "has_more": false,
            "first_id": groups.first.map { .string($0.name) } ?? .null,
            "last_id": groups.last.map { .string($0.name) } ?? .null,
        ]
    }

    static func geminiModel(_ group: GatewayConfiguration.ModelGroup) -> JSONValue {
        var methods: [JSONValue] = []
        if group.endpoints.contains(.chat) { methods += ["generateContent", "streamGenerateContent", "countTokens"] }
        if group.endpoints.contains(.embeddings) { methods += ["embedContent", "batchEmbedContents"] }
        return [
            "name": .string("models/\(group.name)"), "baseModelId": .string(group.name), "version": "routershift",
            "displayName": .string(group.name), "supportedGenerationMethods": .array(methods),
        ]
    }
}
