import AsyncHTTPClient
import NIOCore

/// OpenAI and every server that speaks its API (Azure OpenAI, vLLM, Ollama, LM Studio, Together, ...).
struct OpenAICompatibleProvider: ProviderAdapter {
    let configuration: GatewayConfiguration.Provider
    let client: UpstreamClient

    var name: String { configuration.name }
    var kind: GatewayConfiguration.ProviderKind { .openAI }

    private var headers: [(String, String)] {
        var headers = [("Content-Type", "application/json")]
        if let key = configuration.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        headers += configuration.headers.map { ($0.key, $0.value) }
        return headers
    }

    private var secrets: [String] { [configuration.apiKey].compactMap { $0 } }

    func complete(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatResponse
    {
        var upstream = request
        upstream.stream = false
        let body = try OpenAIChatEncoding.upstreamRequest(upstream, model: model).serialized()
        let response = try await sendChecked(
            httpRequest(
                url: configuration.baseURL + "/chat/completions", headers: headers,
                body: .bytes(ByteBuffer(bytes: body))),
            client: client, deadline: deadline, secrets: secrets)
        let json = try await readJSON(response, limit: client.maxResponseBytes)
        do {
            return try OpenAIChatDecoding.response(json, publicModel: request.model)
        } catch {
            throw .malformed(error.message)
        }
    }

    func stream(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatChunkSource
    {
        var upstream = request
        upstream.stream = true
        let body = try OpenAIChatEncoding.upstreamRequest(upstream, model: model).serialized()
        var httpHeaders = headers
        httpHeaders.append(("Accept", "text/event-stream"))
        let response = try await sendChecked(
            httpRequest(
                url: configuration.baseURL + "/chat/completions", headers: httpHeaders,
                body: .bytes(ByteBuffer(bytes: body))),
            client: client, deadline: deadline, secrets: secrets)
        return ChatChunkSource(
            body: response.body, decoder: OpenAIStreamDecoder(publicModel: request.model),
            maxEventBytes: client.maxStreamEventBytes, silenceTimeout: configuration.timeout,
            firstChunkDeadline: deadline)
    }

    func forward(_ call: ForwardedCall, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ForwardedResponse
    {
        var httpHeaders = headers.filter { $0.0 != "Content-Type" }
        let body: HTTPClientRequest.Body
        switch call.body {
        case .json(let json):
            var object = json.object ?? [:]
            if object["model"] != nil { object["model"] = .string(model) }
            body = .bytes(ByteBuffer(bytes: JSONValue.object(object).serialized()))
            httpHeaders.append(("Content-Type", "application/json"))
        case .bytes(let buffer, let contentType):
            body = .bytes(buffer)
            httpHeaders.append(("Content-Type", contentType))
        case .stream(let stream, let contentType):
            body = .stream(stream, length: .unknown)
            httpHeaders.append(("Content-Type", contentType))
        }
        let response = try await sendChecked(
            httpRequest(url: configuration.baseURL + call.path, headers: httpHeaders, body: body), client: client,
            deadline: deadline, secrets: secrets)
        return ForwardedResponse(
            status: Int(response.status.code), contentType: response.headers.first(name: "content-type"),
            body: response.body)
    }
}

/// OpenAI's stream: `data:` lines of chunk JSON, then `data: [DONE]`. An error object in the stream fails it.
struct OpenAIStreamDecoder: ChatStreamDecoder {
    let publicModel: String
    private(set) var isComplete = false

    init(publicModel: String) {
        self.publicModel = publicModel
    }

    mutating func decode(_ event: ServerSentEvent) throws(UpstreamFailure) -> [ChatChunk] {
        if event.data == "[DONE]" {
            isComplete = true
            return []
        }
        guard !event.data.isEmpty else { return [] }
        guard let json = try? JSONValue.parse(Array(event.data.utf8)) else {
            throw .malformed("a stream event is not JSON: \(event.data.prefix(200))")
        }
        if let error = json["error"] {
            throw .status(500, message: error["message"]?.string ?? "error in stream", retryAfter: nil)
        }
        return [OpenAIChatDecoding.chunk(json, publicModel: publicModel)]
    }
}
