import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// The canonical JSON form (`docs/canonical-json.md`): every field round-trips, one spelling per value, and
/// the cache keys derived from it normalise what does not change the answer.
@Suite struct CanonicalJSONTests {
    static let settings = GatewayConfiguration.Cache()

    static func key(_ request: ChatRequest, tenant: String = "global") -> CacheKey {
        CacheKey(request: request, tenant: tenant, settings: settings, semanticEnabled: true)
    }

    @Test func everyFieldOfARequestRoundTrips() throws {
        let request = try OpenAIChatDecoding.request(OpenAICodecTests.fullRequest)
        let json = request.canonicalJSON
        #expect(try ChatRequest(canonicalJSON: json) == request)
        #expect(try ChatRequest(canonicalJSON: JSONValue.parse(Array(json.sortedJSONString.utf8))) == request)
    }

    @Test func anAnthropicRequestRoundTrips() throws {
        let body: JSONValue = [
            "model": "claude", "max_tokens": 64,
            "system": [["type": "text", "text": "One."], ["type": "text", "text": "Two."]],
            "top_k": 5, "stop_sequences": ["END"], "tool_choice": ["type": "any"],
            "tools": [["name": "lookup", "input_schema": ["type": "object"]]],
            "messages": [["role": "user", "content": [["type": "text", "text": "Hi"]]]],
        ]
        let request = try AnthropicDecoding.request(body)
        #expect(try ChatRequest(canonicalJSON: request.canonicalJSON) == request)
        #expect(request.canonicalJSON["origin"] == "anthropic")
    }

    @Test func aResponseRoundTripsAsAnOpenAIChatCompletion() throws {
        let response = ChatResponse(
            id: "chatcmpl-1", model: "chat", created: 1_764_600_000,
            choices: [
                ChatChoice(index: 0, message: ChatMessage(role: .assistant, text: "Paris."), finishReason: .stop),
                ChatChoice(
                    index: 1,
                    message: ChatMessage(
                        role: .assistant, content: [],
                        toolCalls: [ToolCall(id: "call_1", name: "lookup", arguments: "{\"q\":1}")]),
                    finishReason: .toolCalls),
            ],
            usage: Usage(promptTokens: 12, completionTokens: 2, cachedPromptTokens: 4))
        let json = response.canonicalJSON
        #expect(try ChatResponse(canonicalJSON: json) == response)
        #expect(json["object"] == "chat.completion")
        #expect(json["choices"]?.array?[1]["message"]?["content"] == .null)
        #expect(json["usage"]?["total_tokens"] == 14)
    }

    @Test func theFormIsStableAndReadable() {
        let request = ChatRequest(
            model: "chat", messages: [ChatMessage(role: .user, text: "How do I reset my password?")], maxTokens: 64,
            toolChoice: .auto)
        #expect(
            request.canonicalJSON.sortedJSONString
                == #"{"max_tokens":64,"messages":[{"content":"How do I reset my password?","role":"user"}],"model":"chat","origin":"openai","tool_choice":"auto"}"#
        )
    }

    @Test func inlineImagesAreDataURLs() throws {
        let image = ContentPart.image(ImageSource(base64: "iVBOR", mediaType: "image/png", detail: "low"))
        let message = ChatMessage(role: .user, content: [.text("What is this?"), image])
        let json = message.canonicalJSON
        #expect(json["content"]?.array?[1]["image_url"]?["url"] == "data:image/png;base64,iVBOR")
        #expect(try ChatMessage(canonicalJSON: json, path: "message") == message)
    }

    @Test func malformedCanonicalJSONNamesTheField() {
        let error = #expect(throws: GatewayError.self) {
            try ChatRequest(canonicalJSON: ["model": "chat", "messages": [["role": "robot", "content": "x"]]])
        }
        #expect(error?.param == "messages[0].role")
    }

    // MARK: - Keys

    @Test func aSystemMessageAndAnthropicsSystemMakeTheSameKey() throws {
        let openAI = try OpenAIChatDecoding.request([
            "model": "chat", "max_tokens": 64,
            "messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "Name a colour."]],
        ])
        let anthropic = try AnthropicDecoding.request([
            "model": "chat", "max_tokens": 64, "system": "Be brief.",
            "messages": [["role": "user", "content": [["type": "text", "text": "Name a colour."]]]],
        ])
        #expect(Self.key(openAI).exact == Self.key(anthropic).exact)
        let split = try OpenAIChatDecoding.request([
            "model": "chat", "max_tokens": 64,
            "messages": [
                ["role": "system", "content": "Be brief."], ["role": "developer", "content": "Use English."],
                ["role": "user", "content": "Name a colour."],
            ],
        ])
        let joined = try AnthropicDecoding.request([
            "model": "chat", "max_tokens": 64,
            "system": [["type": "text", "text": "Be brief."], ["type": "text", "text": "Use English."]],
            "messages": [["role": "user", "content": "Name a colour."]],
        ])
        #expect(Self.key(split).exact == Self.key(joined).exact)
        #expect(Self.key(split).exact != Self.key(openAI).exact)
    }

    @Test func answerNeutralFieldsDoNotSplitTheScope() throws {
        let plain = try OpenAIChatDecoding.request([
            "model": "chat", "messages": [["role": "user", "content": "Hello"]],
        ])
        let decorated = try OpenAIChatDecoding.request([
            "model": "chat", "messages": [["role": "user", "content": "Hello"]], "user": "u-42",
            "metadata": ["app": "demo"], "store": true, "service_tier": "auto", "stream": true,
            "stream_options": ["include_usage": true],
        ])
        #expect(Self.key(plain).scope == Self.key(decorated).scope)
        #expect(Self.key(plain).exact == Self.key(decorated).exact)
        let seeded = try OpenAIChatDecoding.request([
            "model": "chat", "messages": [["role": "user", "content": "Hello"]], "logprobs": true,
        ])
        #expect(Self.key(plain).scope != Self.key(seeded).scope)
    }
}
