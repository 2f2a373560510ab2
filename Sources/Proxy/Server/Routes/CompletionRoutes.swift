import Hummingbird

/// OpenAI's legacy text completions and moderations.
///
/// `POST /v1/completions`: a group that declares the `completions` endpoint has it passed through to its
/// OpenAI-kind deployments (`gpt-3.5-turbo-instruct`, vLLM), streamed or not; any other chat group answers
/// it through chat (``OpenAICompletionsCodec``), with the cache, limits and log of chat. `POST /v1/moderations`
/// is passed through to an OpenAI-kind deployment of the named model, or of the first group declaring
/// `moderations` when the body names none.
struct CompletionRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/completions") { request, context in
            let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
            let model = try JSONFields(body).requiredString("model")
            let group = gateway.configuration.models.first { $0.name == model }
            guard group?.endpoints.contains(.completions) == true else {
                let codec = OpenAICompletionsCodec()
                return try await ChatRoutes(gateway: gateway).serve(
                    body, codec: codec, route: codec.routes[0], parameter: { _ in nil }, headers: request.headers,
                    context: context)
            }
            guard body["prompt"] != nil else { throw GatewayError.invalid("`prompt` is required.", param: "prompt") }
            let passthrough = gateway.passthrough
            if body["stream"] == true {
                return try await passthrough.streamed(
                    body, endpoint: .completions, path: "/completions", model: model, principal: context.principal!,
                    channel: context.channel)
            }
            return try await passthrough.json(
                body, endpoint: .completions, path: "/completions", model: model, principal: context.principal!,
                channel: context.channel)
        }
        router.post("/v1/moderations") { request, context in
            let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
            let fields = try JSONFields(body)
            guard fields.value("input") != nil else {
                throw GatewayError.invalid("`input` is required.", param: "input")
            }
            let model = try fields.string("model") ?? defaultModerationModel()
            var object = body.object ?? [:]
            object["model"] = .string(model)
            return try await gateway.passthrough.json(
                .object(object), endpoint: .moderations, path: "/moderations", model: model,
                principal: context.principal!, channel: context.channel)
        }
    }

    /// The first group declaring `moderations`.
    private func defaultModerationModel() throws(GatewayError) -> String {
        guard let group = gateway.configuration.models.first(where: { $0.endpoints.contains(.moderations) }) else {
            throw GatewayError(
                .notFound,
                "No model on this gateway serves /v1/moderations; an operator can add `moderations` to a model group's "
                    + "`endpoints`.", param: "model", code: "model_not_found")
        }
        return group.name
    }
}
