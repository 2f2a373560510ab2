import Canonical

/// Anthropic's Messages API (`POST /v1/messages`), served to clients and spoken to upstreams:
/// `{base_url}/v1/messages` with `x-api-key` and `anthropic-version`.
package struct AnthropicCodec: ChatCodec {
    /// The `anthropic-version` sent upstream.
    package static let apiVersion = "2023-06-01"
    /// Where Anthropic counts a message request's tokens, relative to the provider's base URL.
    package static let countTokensPath = "/v1/messages/count_tokens"

    package init() {}

    package var wireProtocol: ClientProtocol { .anthropic }
    package var routes: [ChatRoute] { [ChatRoute("/v1/messages")] }

    package func decodeRequest(_ body: JSONValue, route: ChatRoute, parameter: (String) -> String?) throws(GatewayError)
        -> ChatRequest
    {
        try AnthropicDecoding.request(body)
    }

    package func endpoint(for request: ChatRequest) -> String { "/v1/messages" }
    package func encodeResponse(_ response: ChatResponse) -> JSONValue { AnthropicEncoding.response(response) }
    package func eventEncoder(for request: ChatRequest) -> any ChatEventEncoder { AnthropicEventEncoder() }

    package func upstreamRequest(_ request: ChatRequest, model: String) throws(UpstreamFailure) -> JSONValue {
        try AnthropicEncoding.upstreamRequest(request, model: model)
    }

    package func upstreamPath(model: String, stream: Bool) -> String { "/v1/messages" }
    package func authorization(apiKey: String) -> (name: String, value: String) { ("x-api-key", apiKey) }
    package var upstreamHeaders: [(name: String, value: String)] { [("anthropic-version", Self.apiVersion)] }

    package func upstreamResponse(_ body: JSONValue, publicModel: String) throws(UpstreamFailure) -> ChatResponse {
        try AnthropicDecoding.response(body, publicModel: publicModel)
    }

    package func streamDecoder(publicModel: String) -> any ChatStreamDecoder {
        AnthropicStreamDecoder(publicModel: publicModel)
    }

    package func upstreamResponse(_ body: JSONValue, answering request: ChatRequest) throws(UpstreamFailure)
        -> ChatResponse
    {
        let response = try AnthropicDecoding.response(body, publicModel: request.model)
        return AnthropicEncoding.usesJSONTool(request) ? AnthropicDecoding.unwrappingJSONTool(response) : response
    }

    package func streamDecoder(answering request: ChatRequest) -> any ChatStreamDecoder {
        AnthropicStreamDecoder(publicModel: request.model, unwrapsJSONTool: AnthropicEncoding.usesJSONTool(request))
    }

    /// The beta features an Anthropic client enables go to Anthropic upstreams with its request.
    package var forwardedHeaders: [String] { ["anthropic-beta"] }
}
