import HTTPTypes
import Hummingbird

/// The chat endpoints of every codec (``ChatCodecs``): one handler decodes the body with the route's codec,
/// serves the canonical request through ``ChatService`` and encodes the answer, complete or streamed, in
/// the same protocol.
struct ChatRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        for codec in ChatCodecs.all {
            for route in codec.routes {
                router.post(RouterPath(route.path)) { request, context in
                    let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
                    if codec.wireProtocol == .gemini, let action = context.parameters.get("action"),
                        let answer = try await GeminiActionRoutes(gateway: gateway).respond(
                            to: action, body: body, context: context)
                    {
                        return answer
                    }
                    let query = request.uri.queryParameters
                    return try await serve(
                        body, codec: codec, route: route, parameter: { context.parameters.get($0) },
                        query: { query[Substring($0)].map(String.init) }, headers: request.headers, context: context)
                }
            }
        }
    }

    /// Serves a decoded body at `route`: for the routes above, and for batch items, whose bodies are
    /// already parsed.
    ///
    /// - Parameter query: the request's query parameters by name (Gemini's `alt=sse`); none for batch items.
    func serve(
        _ body: JSONValue, codec: any ChatCodec, route: ChatRoute, parameter: (String) -> String?,
        query: (String) -> String? = { _ in nil }, headers: HTTPFields, context: GatewayContext
    ) async throws -> Response {
        // The Responses API keeps conversations between calls, which its routes look after.
        if codec is ResponsesCodec {
            return try await ResponsesRoutes(gateway: gateway).create(body, headers: headers, context: context)
        }
        var decoded = try codec.decodeRequest(body, route: route, parameter: parameter)
        for name in codec.forwardedHeaders {
            if let field = HTTPField.Name(name), let value = headers[field] { decoded.headers[name] = value }
        }
        let chat = decoded
        let outcome = try await respond(
            to: chat, endpoint: codec.endpoint(for: chat), headers: headers, context: context)
        switch outcome.body {
        case .complete(let response):
            return jsonResponse(codec.encodeResponse(response), headers: outcome.headers)
        case .stream(let stream):
            return eventStreamResponse(
                stream, encoder: codec.eventEncoder(for: chat, route: route, query: query), headers: outcome.headers,
                channel: context.channel,
                watcher: gateway.watcher)
        }
    }

    /// The chat service's answer to a canonical request, abandoned if the client goes away first.
    func respond(to chat: ChatRequest, endpoint: String, headers: HTTPFields, context: GatewayContext) async throws
        -> ChatService.Outcome
    {
        let service = gateway.chat
        let principal = context.principal!
        let directives = try CacheDirectives(headers: headers)
        return try await gateway.watcher.run(on: context.channel) {
            try await service.respond(to: chat, principal: principal, endpoint: endpoint, directives: directives)
        }
    }
}
