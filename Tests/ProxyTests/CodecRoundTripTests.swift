import NIOCore
import Testing

@testable import Proxy

/// Every codec against itself: what its client side writes, its upstream side reads back the same, and
/// the other way round (a request a client sends, encoded for an upstream of the same protocol, decodes
/// to the same canonical request). Streams go through the SSE parser between the two.
@Suite struct CodecRoundTripTests {
    static let response = ChatResponse(
        id: "chatcmpl-fixture", model: "chat", created: 1_764_600_000,
        choices: [
            ChatChoice(
                index: 0,
                message: ChatMessage(
                    role: .assistant, content: [.text("Let me look that up.")],
                    toolCalls: [ToolCall(id: "call_1_lookup", name: "lookup", arguments: #"{"q":"weather"}"#)]),
                finishReason: .toolCalls)
        ],
        usage: Usage(promptTokens: 21, completionTokens: 9))

    static let request = ChatRequest(
        model: "chat",
        messages: [
            ChatMessage(role: .system, text: "Be brief."),
            ChatMessage(role: .user, text: "What is the weather in Paris?"),
            ChatMessage(
                role: .assistant, content: [],
                toolCalls: [ToolCall(id: "call_1_lookup", name: "lookup", arguments: #"{"q":"Paris"}"#)]),
            ChatMessage(role: .tool, content: [.text("18 C")], toolCallID: "call_1_lookup"),
        ],
        temperature: 0.5, topP: 0.9, maxTokens: 128, stop: ["END"],
        tools: [ToolDefinition(name: "lookup", description: "Looks up.", parameters: ["type": "object"])],
        toolChoice: .auto)

    /// The protocols that can carry every parameter of ``request``: not the Responses API, which has no
    /// `stop` (``ResponsesCodecTests`` round-trips its own requests).
    static let protocolsWithStop = ChatCodecs.all.map(\.wireProtocol).filter { $0 != .responses }

    /// What a round trip must keep of a response (ids and timestamps are the upstream's to make).
    static func essence(_ response: ChatResponse) -> [String] {
        response.choices.map { choice in
            let calls = choice.message.toolCalls.map { "\($0.name)(\($0.arguments))" }.joined(separator: ",")
            return
                "\(choice.index) \(choice.message.role) \(choice.message.text) [\(calls)] \(String(describing: choice.finishReason))"
        } + [String(describing: response.usage.map { ($0.promptTokens, $0.completionTokens) })]
    }

    @Test(arguments: ChatCodecs.all.map(\.wireProtocol))
    func aCompleteResponseRoundTrips(_ wireProtocol: ClientProtocol) throws {
        let codec = ChatCodecs.upstream(wireProtocol)
        let decoded = try codec.upstreamResponse(codec.encodeResponse(Self.response), publicModel: "chat")
        #expect(Self.essence(decoded) == Self.essence(Self.response))
        #expect(decoded.model == "chat")
    }

    @Test(arguments: ChatCodecs.all.map(\.wireProtocol))
    func aStreamRoundTripsThroughServerSentEvents(_ wireProtocol: ClientProtocol) throws {
        let codec = ChatCodecs.upstream(wireProtocol)
        var request = Self.request
        request.stream = true
        request.includeUsage = true
        var encoder = codec.eventEncoder(for: request)
        var text = ""
        for chunk in Self.response.chunks(includeUsage: true) { text += encoder.encode(chunk).joined() }
        text += encoder.finish().joined()
        var parser = ServerSentEventParser()
        var decoder = codec.streamDecoder(publicModel: "chat")
        var accumulator = ChatStreamAccumulator()
        for event in try parser.feed(ByteBuffer(string: text)) + (try parser.finish()) {
            for chunk in try decoder.decode(event) { accumulator.add(chunk) }
        }
        #expect(decoder.isComplete)
        #expect(accumulator.isComplete)
        #expect(Self.essence(accumulator.response).dropLast() == Self.essence(Self.response).dropLast())
        #expect(accumulator.usage?.completionTokens == Self.response.usage?.completionTokens)
        #expect(accumulator.usage?.promptTokens == Self.response.usage?.promptTokens)
    }

    @Test(arguments: protocolsWithStop)
    func aRequestRoundTripsThroughTheUpstreamEncoding(_ wireProtocol: ClientProtocol) throws {
        let codec = ChatCodecs.upstream(wireProtocol)
        var original = Self.request
        original.origin = wireProtocol
        let body = try codec.upstreamRequest(original, model: "chat")
        let route = try #require(codec.routes.first)
        let decoded = try codec.decodeRequest(body, route: route) { $0 == "model" ? "chat" : nil }
        #expect(decoded.model == "chat")
        // Gemini names a tool result by its function; the others leave the name out.
        let messages = decoded.messages.map { message in
            var message = message
            if message.role == .tool { message.name = nil }
            return message
        }
        #expect(messages == original.messages)
        #expect(decoded.temperature == original.temperature && decoded.topP == original.topP)
        #expect(decoded.maxTokens == original.maxTokens && decoded.stop == original.stop)
        #expect(decoded.tools == original.tools && decoded.toolChoice == original.toolChoice)
        #expect(decoded.origin == wireProtocol)
    }

    @Test func errorBodiesAreInEachProtocolsShape() {
        let error = GatewayError.invalid("`messages` is required.", param: "messages")
        #expect(OpenAIChatCodec().errorBody(error)["error"]?["param"] == "messages")
        #expect(AnthropicCodec().errorBody(error)["type"] == "error")
        #expect(GeminiCodec().errorBody(error)["error"]?["status"] == "INVALID_ARGUMENT")
        #expect(GeminiCodec().errorBody(error)["error"]?["code"] == 400)
    }

    @Test func routesMatchTheirPathsAndNothingElse() throws {
        let gemini = try #require(ChatCodecs.route(for: "/v1beta/models/gemini-2.5-flash:generateContent"))
        #expect(
            gemini.codec.wireProtocol == .gemini && gemini.parameters["action"] == "gemini-2.5-flash:generateContent")
        #expect(ChatCodecs.route(for: "/v1/chat/completions")?.codec.wireProtocol == .openAI)
        #expect(ChatCodecs.route(for: "/v1/messages")?.codec.wireProtocol == .anthropic)
        #expect(ChatCodecs.route(for: "/v1/embeddings") == nil)
        #expect(ChatCodecs.route(for: "/v1/chat/completions/extra") == nil)
    }
}
