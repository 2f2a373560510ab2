import AsyncHTTPClient
import NIOCore
import RouterShiftConfiguration

/// A provider reached over HTTP in the wire protocol of `codec`: the codec encodes the canonical request,
/// names the URL and the key's header, and decodes the answer or stream; this sends it with the shared
/// client. OpenAI-kind providers also take the calls the gateway forwards without modelling them.
struct HTTPChatProvider: ProviderAdapter {
    let configuration: GatewayConfiguration.Provider
    let client: UpstreamClient
    let codec: any ChatCodec

    init(configuration: GatewayConfiguration.Provider, client: UpstreamClient) {
        self.configuration = configuration
        self.client = client
        codec = ChatCodecs.upstream(configuration.kind.wireProtocol)
    }

    var name: String { configuration.name }
    var kind: GatewayConfiguration.ProviderKind { configuration.kind }

    private var headers: [(String, String)] {
        var headers = [("Content-Type", "application/json")] + codec.upstreamHeaders.map { ($0.name, $0.value) }
        if let key = configuration.apiKey {
            let authorization = codec.authorization(apiKey: key)
            headers.append((authorization.name, authorization.value))
        }
        headers += configuration.headers.map { ($0.key, $0.value) }
        return headers
    }

    private var secrets: [String] { [configuration.apiKey].compactMap { $0 } }

    /// The codec `request` goes upstream with: the Responses API's own for a Responses request to a provider
    /// that serves it natively (`responses: native`), else the provider's.
    private func codec(for request: ChatRequest) -> any ChatCodec {
        configuration.servesResponses && request.origin == .responses ? ChatCodecs.upstream(.responses) : codec
    }

    private func send(_ request: ChatRequest, model: String, stream: Bool, deadline: NIODeadline)
        async throws(UpstreamFailure) -> HTTPClientResponse
    {
        let wire = codec(for: request)
        var upstream = request
        upstream.stream = stream
        let body = try wire.upstreamRequest(upstream, model: model).serialized()
        var headers = headers
        if stream { headers.append(("Accept", "text/event-stream")) }
        if request.origin == codec.wireProtocol {
            for name in codec.forwardedHeaders {
                if let value = request.headers[name] { headers.append((name, value)) }
            }
        }
        return try await sendChecked(
            httpRequest(
                url: configuration.baseURL + wire.upstreamPath(model: model, stream: stream), headers: headers,
                body: .bytes(ByteBuffer(bytes: body))),
            client: client, deadline: deadline, secrets: secrets)
    }

    func complete(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatResponse
    {
        let response = try await send(request, model: model, stream: false, deadline: deadline)
        return try codec(for: request).upstreamResponse(
            try await readJSON(response, limit: client.maxResponseBytes), answering: request)
    }

    func stream(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatChunkSource
    {
        let response = try await send(request, model: model, stream: true, deadline: deadline)
        // Some OpenAI-compatible servers ignore `stream` and answer the whole response: it is streamed from here.
        if let type = response.headers.first(name: "content-type"), type.lowercased().hasPrefix("application/json") {
            let wire = codec(for: request)
            let whole = try wire.upstreamResponse(
                try await readJSON(response, limit: client.maxResponseBytes), answering: request)
            return ChatChunkSource(
                chunks: whole.chunks(includeUsage: true), decoder: wire.streamDecoder(answering: request))
        }
        return ChatChunkSource(
            body: response.body, decoder: codec(for: request).streamDecoder(answering: request),
            maxEventBytes: client.maxStreamEventBytes, silenceTimeout: configuration.timeout,
            firstChunkDeadline: deadline)
    }

    func forward(_ call: ForwardedCall, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ForwardedResponse
    {
        // Anthropic-kind providers forward only token counting, which has no canonical form.
        guard kind == .openAI || (kind == .anthropic && call.path == AnthropicCodec.countTokensPath) else {
            throw .unsupported("\(codec.wireProtocol.displayName) deployments do not serve \(call.path).")
        }
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

extension GatewayConfiguration.ProviderKind {
    /// The wire protocol providers of this kind speak.
    var wireProtocol: ClientProtocol {
        switch self {
        case .openAI: .openAI
        case .anthropic: .anthropic
        case .gemini: .gemini
        }
    }
}
