import Hummingbird

/// The Anthropic Messages API: `POST /v1/messages`, streamed or not, served by any provider kind.
struct AnthropicRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/messages") { request, context in try await messages(request, context: context) }
    }

    private func messages(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        let chat = try AnthropicDecoding.request(body)
        let service = gateway.chat
        let principal = context.principal!
        let directives = try CacheDirectives(headers: request.headers)
        let outcome = try await gateway.watcher.run(on: context.channel) {
            try await service.respond(to: chat, principal: principal, endpoint: "/v1/messages", directives: directives)
        }
        switch outcome.body {
        case .complete(let response):
            return jsonResponse(AnthropicEncoding.response(response), headers: outcome.headers)
        case .stream(let stream):
            return eventStreamResponse(
                stream, encoder: AnthropicEventEncoder(), headers: outcome.headers, channel: context.channel,
                watcher: gateway.watcher)
        }
    }
}
