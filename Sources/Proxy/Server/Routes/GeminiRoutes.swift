import Hummingbird

/// Gemini's `generateContent` and `streamGenerateContent`, on the gateway's own paths
/// (`/v1/models/gemini/{model}/generateContent`) and on Gemini's (`/v1beta/models/{model}:generateContent`,
/// also under `/v1`), so the google-genai SDK works by changing only its base URL.
struct GeminiRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/models/gemini/:model/generateContent") { request, context in
            try await generate(request, context: context, model: context.parameters.get("model") ?? "", stream: false)
        }
        router.post("/v1/models/gemini/:model/streamGenerateContent") { request, context in
            try await generate(request, context: context, model: context.parameters.get("model") ?? "", stream: true)
        }
        for prefix in ["/v1beta/models/:action", "/v1/models/:action"] {
            router.post(RouterPath(prefix)) { request, context in
                let action = context.parameters.get("action") ?? ""
                let parts = action.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, ["generateContent", "streamGenerateContent"].contains(parts[1]) else {
                    throw GatewayError(.notFound, "No route for POST \(request.uri.path).", code: "not_found")
                }
                return try await generate(
                    request, context: context, model: String(parts[0]), stream: parts[1] == "streamGenerateContent")
            }
        }
    }

    private func generate(_ request: Request, context: GatewayContext, model: String, stream: Bool) async throws
        -> Response
    {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        let chat = try GeminiDecoding.request(body, model: model, stream: stream)
        let service = gateway.chat
        let principal = context.principal!
        let directives = try CacheDirectives(headers: request.headers)
        let outcome = try await gateway.watcher.run(on: context.channel) {
            try await service.respond(
                to: chat, principal: principal, endpoint: stream ? "streamGenerateContent" : "generateContent",
                directives: directives)
        }
        switch outcome.body {
        case .complete(let response):
            return jsonResponse(GeminiEncoding.response(response), headers: outcome.headers)
        case .stream(let stream):
            return eventStreamResponse(
                stream, encoder: GeminiEventEncoder(), headers: outcome.headers, channel: context.channel,
                watcher: gateway.watcher)
        }
    }
}
