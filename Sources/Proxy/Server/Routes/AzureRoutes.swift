import Hummingbird

/// Azure OpenAI's paths, so `AzureOpenAI` clients work by changing only their endpoint:
/// `POST /openai/deployments/{deployment}/chat/completions` and `.../embeddings` (with any `api-version`),
/// served as `/v1/chat/completions` and `/v1/embeddings` with the deployment name as the model.
/// Authentication takes Azure's `api-key` header besides the usual ones (``AuthenticationMiddleware``).
struct AzureRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/openai/deployments/:deployment/chat/completions") { request, context in
            let body = try await deploymentBody(request, context: context)
            let codec = OpenAIChatCodec()
            return try await ChatRoutes(gateway: gateway).serve(
                body, codec: codec, route: codec.routes[0], parameter: { _ in nil }, headers: request.headers,
                context: context)
        }
        router.post("/openai/deployments/:deployment/embeddings") { request, context in
            try await OpenAIRoutes(gateway: gateway).embeddings(
                try await deploymentBody(request, context: context), context: context)
        }
    }

    /// The body with `model` set to the path's deployment, which is what Azure routes by.
    private func deploymentBody(_ request: Request, context: GatewayContext) async throws -> JSONValue {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        guard var object = body.object else { throw GatewayError.invalid("The request body must be a JSON object.") }
        object["model"] = .string(context.parameters.get("deployment") ?? "")
        return .object(object)
    }
}
