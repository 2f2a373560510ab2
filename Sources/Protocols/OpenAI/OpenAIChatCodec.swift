import Canonical

/// OpenAI's chat completions (`POST /v1/chat/completions`), and every upstream that speaks them (OpenAI,
/// Azure OpenAI, vLLM, Ollama, ...): `{base_url}/chat/completions` with `Authorization: Bearer`.
package struct OpenAIChatCodec: ChatCodec {
    package init() {}

    package var wireProtocol: ClientProtocol { .openAI }
    package var routes: [ChatRoute] { [ChatRoute("/v1/chat/completions")] }

    package func decodeRequest(_ body: JSONValue, route: ChatRoute, parameter: (String) -> String?) throws(GatewayError)
        -> ChatRequest
    {
        try OpenAIChatDecoding.request(body)
    }

    package func endpoint(for request: ChatRequest) -> String { "/v1/chat/completions" }
    package func encodeResponse(_ response: ChatResponse) -> JSONValue { OpenAIChatEncoding.response(response) }

    package func eventEncoder(for request: ChatRequest) -> any ChatEventEncoder {
        OpenAIEventEncoder(includeUsage: request.includeUsage)
    }

    package func upstreamRequest(_ request: ChatRequest, model: String) throws(UpstreamFailure) -> JSONValue {
        try OpenAIChatEncoding.upstreamRequest(request, model: model)
    }

    package func upstreamPath(model: String, stream: Bool) -> String { "/chat/completions" }

    package func authorization(apiKey: String) -> (name: String, value: String) {
        ("Authorization", "Bearer \(apiKey)")
    }

    package func upstreamResponse(_ body: JSONValue, publicModel: String) throws(UpstreamFailure) -> ChatResponse {
        do {
            return try OpenAIChatDecoding.response(body, publicModel: publicModel)
        } catch {
            throw .malformed(error.message)
        }
    }

    package func streamDecoder(publicModel: String) -> any ChatStreamDecoder {
        OpenAIStreamDecoder(publicModel: publicModel)
    }
}
