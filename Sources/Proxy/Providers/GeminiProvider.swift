import AsyncHTTPClient
import NIOCore

/// Google's Gemini API (`POST {base_url}/models/{model}:generateContent`, `x-goog-api-key`), streamed with
/// `:streamGenerateContent?alt=sse`.
struct GeminiProvider: ProviderAdapter {
    let configuration: GatewayConfiguration.Provider
    let client: UpstreamClient

    var name: String { configuration.name }
    var kind: GatewayConfiguration.ProviderKind { .gemini }

    private var headers: [(String, String)] {
        var headers = [("Content-Type", "application/json")]
        if let key = configuration.apiKey { headers.append(("x-goog-api-key", key)) }
        headers += configuration.headers.map { ($0.key, $0.value) }
        return headers
    }

    private var secrets: [String] { [configuration.apiKey].compactMap { $0 } }

    func complete(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatResponse
    {
        let body = try GeminiEncoding.upstreamRequest(request).serialized()
        let response = try await sendChecked(
            httpRequest(
                url: "\(configuration.baseURL)/models/\(model):generateContent", headers: headers,
                body: .bytes(ByteBuffer(bytes: body))),
            client: client, deadline: deadline, secrets: secrets)
        return try GeminiDecoding.response(
            try await readJSON(response, limit: client.maxResponseBytes), publicModel: request.model)
    }

    func stream(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatChunkSource
    {
        let body = try GeminiEncoding.upstreamRequest(request).serialized()
        let response = try await sendChecked(
            httpRequest(
                url: "\(configuration.baseURL)/models/\(model):streamGenerateContent?alt=sse", headers: headers,
                body: .bytes(ByteBuffer(bytes: body))),
            client: client, deadline: deadline, secrets: secrets)
        return ChatChunkSource(
            body: response.body, decoder: GeminiStreamDecoder(publicModel: request.model),
            maxEventBytes: client.maxStreamEventBytes, silenceTimeout: configuration.timeout,
            firstChunkDeadline: deadline)
    }

    func forward(_ call: ForwardedCall, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ForwardedResponse
    {
        throw .unsupported("A Gemini deployment does not serve \(call.path).")
    }
}
