import HTTPTypes
import Hummingbird

/// Counting a prompt's tokens without generating: Anthropic's `POST /v1/messages/count_tokens`
/// (`{"input_tokens": N}`) and Gemini's `POST /v1beta/models/{model}:countTokens` (`{"totalTokens": N}`,
/// reached through ``GeminiActionRoutes``). The request is validated as the chat request it counts and
/// the model checked against the key. A group served only by Anthropic-kind deployments has Anthropic count
/// (routed like chat); otherwise the count is ``TokenEstimate``'s, marked as an estimate.
struct TokenCountRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/messages/count_tokens") { request, context in
            let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
            // count_tokens takes a message request without `max_tokens`.
            var counted = body
            if var object = body.object, object["max_tokens"] == nil {
                object["max_tokens"] = 1
                counted = .object(object)
            }
            let chat = try AnthropicDecoding.request(counted)
            guard servedByAnthropicOnly(chat.model) else {
                return try answer(["input_tokens": .integer(Int64(count(chat, context: context)))])
            }
            // Anthropic upstreams count with their own tokenizer.
            let (native, deployment) = try await gateway.passthrough.jsonAnswer(
                body, endpoint: .chat, path: AnthropicCodec.countTokensPath, model: chat.model,
                principal: context.principal!, channel: context.channel)
            guard let tokens = native["input_tokens"]?.integer else {
                throw GatewayError(.upstreamFailed, "The upstream answered count_tokens without `input_tokens`.")
            }
            return jsonResponse(["input_tokens": .integer(tokens)], headers: ChatService.headers(deployment))
        }
    }

    /// Whether every deployment of the group `model` is Anthropic-kind, so any of them can count natively.
    private func servedByAnthropicOnly(_ model: String) -> Bool {
        let configuration = gateway.configuration
        guard let group = configuration.models.first(where: { $0.name == model }) else { return false }
        return group.deployments.allSatisfy { deployment in
            configuration.providers.first { $0.name == deployment.provider }?.kind == .anthropic
        }
    }

    /// Gemini's countTokens body: `contents` (with `systemInstruction`, `tools`), or all of it inside
    /// `generateContentRequest`.
    func geminiCount(_ body: JSONValue, model: String, context: GatewayContext) throws -> Response {
        let request = body["generateContentRequest"] ?? body
        let chat = try GeminiDecoding.request(request, model: model, stream: false)
        return try answer(["totalTokens": .integer(Int64(count(chat, context: context)))])
    }

    private func count(_ chat: ChatRequest, context: GatewayContext) throws -> Int {
        try gateway.routing.authorize(model: chat.model, for: .chat, principal: context.principal!)
        return TokenEstimate.promptTokens(chat)
    }

    private func answer(_ body: JSONValue) throws -> Response {
        jsonResponse(body, headers: [TokenEstimate.header: "estimate"])
    }
}
