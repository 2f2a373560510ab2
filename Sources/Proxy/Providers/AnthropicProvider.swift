import AsyncHTTPClient
import NIOCore

/// Anthropic's Messages API (`POST {base_url}/v1/messages`, `x-api-key`, `anthropic-version`).
struct AnthropicProvider: ProviderAdapter {
    static let apiVersion = "2023-06-01"

    let configuration: GatewayConfiguration.Provider
    let client: UpstreamClient

    var name: String { configuration.name }
    var kind: GatewayConfiguration.ProviderKind { .anthropic }

    private var headers: [(String, String)] {
        var headers = [("Content-Type", "application/json"), ("anthropic-version", Self.apiVersion)]
        if let key = configuration.apiKey { headers.append(("x-api-key", key)) }
        headers += configuration.headers.map { ($0.key, $0.value) }
        return headers
    }

    private var secrets: [String] { [configuration.apiKey].compactMap { $0 } }
    private var url: String { configuration.baseURL + "/v1/messages" }

    func complete(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatResponse
    {
        var upstream = request
        upstream.stream = false
        let body = try AnthropicEncoding.upstreamRequest(upstream, model: model).serialized()
        let response = try await sendChecked(
            httpRequest(url: url, headers: headers, body: .bytes(ByteBuffer(bytes: body))), client: client,
            deadline: deadline,
            secrets: secrets)
        return try AnthropicDecoding.response(
            try await readJSON(response, limit: client.maxResponseBytes), publicModel: request.model)
    }

    func stream(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatChunkSource
    {
        var upstream = request
        upstream.stream = true
        let body = try AnthropicEncoding.upstreamRequest(upstream, model: model).serialized()
        let response = try await sendChecked(
            httpRequest(
                url: url, headers: headers + [("Accept", "text/event-stream")], body: .bytes(ByteBuffer(bytes: body))),
            client: client, deadline: deadline, secrets: secrets)
        return ChatChunkSource(
            body: response.body, decoder: AnthropicStreamDecoder(publicModel: request.model),
            maxEventBytes: client.maxStreamEventBytes, silenceTimeout: configuration.timeout,
            firstChunkDeadline: deadline)
    }

    func forward(_ call: ForwardedCall, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ForwardedResponse
    {
        throw .unsupported("An Anthropic deployment does not serve \(call.path).")
    }
}
