import Canonical

/// Everything protocol-specific about one wire protocol's chat traffic: the paths clients call, decoding
/// their requests into canonical form and encoding responses, stream events and errors back; and the
/// upstream side: encoding canonical requests for a provider of that protocol, its URL shape and auth
/// header, decoding its answers and streams. The gateway's one chat route and one HTTP provider are
/// generic over it; a new protocol is a new folder with a codec, registered in ``ChatCodecs``.
package protocol ChatCodec: Sendable {
    /// The protocol, which decides error bodies and what translation refuses.
    var wireProtocol: ClientProtocol { get }

    // MARK: - Client side

    /// The POST paths it serves, as router patterns (`/v1beta/models/:action`).
    var routes: [ChatRoute] { get }

    /// A client's request body at `route`, validated; every problem is a 400 naming the parameter, and a
    /// path the route does not serve after all (a Gemini action other than generateContent) a 404.
    ///
    /// - Parameter parameter: the route's path parameters by name.
    func decodeRequest(_ body: JSONValue, route: ChatRoute, parameter: (String) -> String?) throws(GatewayError)
        -> ChatRequest

    /// The endpoint a request is logged under.
    func endpoint(for request: ChatRequest) -> String

    /// A complete response as the client's protocol writes it.
    func encodeResponse(_ response: ChatResponse) -> JSONValue

    /// The encoder of a stream answering `request`.
    func eventEncoder(for request: ChatRequest) -> any ChatEventEncoder

    // MARK: - Upstream side

    /// The body of a request to an upstream of this protocol, for the upstream's `model`.
    func upstreamRequest(_ request: ChatRequest, model: String) throws(UpstreamFailure) -> JSONValue

    /// Where an upstream serves `model`, relative to the provider's base URL (`/chat/completions`).
    func upstreamPath(model: String, stream: Bool) -> String

    /// The header that carries the provider's key.
    func authorization(apiKey: String) -> (name: String, value: String)

    /// Headers every upstream request carries besides content type and key (`anthropic-version`).
    var upstreamHeaders: [(name: String, value: String)] { get }

    /// An upstream's complete answer in canonical form, under the client's `publicModel`.
    func upstreamResponse(_ body: JSONValue, publicModel: String) throws(UpstreamFailure) -> ChatResponse

    /// The decoder of an upstream's stream.
    func streamDecoder(publicModel: String) -> any ChatStreamDecoder

    /// An upstream's complete answer to `request` (which may have been encoded in a way the answer must
    /// undo, as Anthropic's forced JSON tool); by default ``upstreamResponse(_:publicModel:)``.
    func upstreamResponse(_ body: JSONValue, answering request: ChatRequest) throws(UpstreamFailure) -> ChatResponse

    /// The decoder of an upstream's stream answering `request`; by default ``streamDecoder(publicModel:)``.
    func streamDecoder(answering request: ChatRequest) -> any ChatStreamDecoder

    /// The encoder of a stream answering `request` at `route`, whose query is `query` (Gemini's `alt=sse`);
    /// by default ``eventEncoder(for:)``.
    func eventEncoder(for request: ChatRequest, route: ChatRoute, query: (String) -> String?) -> any ChatEventEncoder

    /// Request headers of this protocol that go on to upstreams of the same protocol (`anthropic-beta`), in
    /// ``ChatRequest/headers``; none by default.
    var forwardedHeaders: [String] { get }
}

extension ChatCodec {
    /// The error body in this protocol's format.
    package func errorBody(_ error: GatewayError) -> JSONValue { error.body(for: wireProtocol) }

    package var upstreamHeaders: [(name: String, value: String)] { [] }

    package func upstreamResponse(_ body: JSONValue, answering request: ChatRequest) throws(UpstreamFailure)
        -> ChatResponse
    {
        try upstreamResponse(body, publicModel: request.model)
    }

    package func streamDecoder(answering request: ChatRequest) -> any ChatStreamDecoder {
        streamDecoder(publicModel: request.model)
    }

    package func eventEncoder(for request: ChatRequest, route: ChatRoute, query: (String) -> String?)
        -> any ChatEventEncoder
    {
        eventEncoder(for: request)
    }

    package var forwardedHeaders: [String] { [] }
}

/// A path a codec serves.
package struct ChatRoute: Sendable, Hashable {
    /// A router pattern: literal segments and `:name` parameters.
    package var path: String
    /// Whether the path itself asks for a stream (Gemini's `streamGenerateContent`); nil when the body says.
    package var stream: Bool?

    package init(_ path: String, stream: Bool? = nil) {
        self.path = path
        self.stream = stream
    }

    /// The path parameters when `path` matches this route's pattern, else nil.
    package func match(_ candidate: String) -> [String: String]? {
        let pattern = path.split(separator: "/", omittingEmptySubsequences: true)
        let segments = candidate.split(separator: "/", omittingEmptySubsequences: true)
        guard pattern.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, segments) {
            if expected.hasPrefix(":") {
                parameters[String(expected.dropFirst())] = String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}

/// The codecs the gateway serves, and speaks to upstreams with.
package enum ChatCodecs {
    /// Every codec, in the order their routes are registered.
    package static let all: [any ChatCodec] = [
        OpenAIChatCodec(), AnthropicCodec(), GeminiCodec(), ResponsesCodec(),
    ]

    /// The codec of upstreams speaking `wireProtocol`.
    package static func upstream(_ wireProtocol: ClientProtocol) -> any ChatCodec {
        all.first { $0.wireProtocol == wireProtocol }!
    }

    /// The codec and route serving `path`, with its path parameters.
    package static func route(for path: String) -> (
        codec: any ChatCodec, route: ChatRoute, parameters: [String: String]
    )? {
        for codec in all {
            for route in codec.routes {
                if let parameters = route.match(path) { return (codec, route, parameters) }
            }
        }
        return nil
    }
}
