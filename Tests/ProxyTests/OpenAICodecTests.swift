import Testing

@testable import Proxy

@Suite struct OpenAICodecTests {
    static let fullRequest: JSONValue = [
        "model": "gpt-4o", "temperature": 0.2, "top_p": 0.9, "max_tokens": 100, "stop": "END", "seed": 7, "n": 1,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "response_format": ["type": "json_object"], "user": "u1",
        "stream": true, "stream_options": ["include_usage": true], "logprobs": true, "metadata": ["a": "b"],
        "tools": [
            ["type": "function", "function": ["name": "lookup", "description": "d", "parameters": ["type": "object"]]]
        ],
        "tool_choice": ["type": "function", "function": ["name": "lookup"]], "parallel_tool_calls": false,
        "messages": [
            ["role": "developer", "content": "Be brief."],
            [
                "role": "user",
                "content": [
                    ["type": "text", "text": "What is this?"],
                    ["type": "image_url", "image_url": ["url": "data:image/png;base64,iVBOR", "detail": "low"]],
                    ["type": "input_audio", "input_audio": ["data": "xx", "format": "wav"]],
                ],
            ],
            [
                "role": "assistant", "content": nil,
                "tool_calls": [
                    ["id": "c1", "type": "function", "function": ["name": "lookup", "arguments": "{\"q\":1}"]]
                ],
            ],
            ["role": "tool", "tool_call_id": "c1", "content": "42", "cache_hint": "x"],
        ],
    ]

    @Test func decodesEveryModelledField() throws {
        let request = try OpenAIChatDecoding.request(Self.fullRequest)
        #expect(request.model == "gpt-4o")
        #expect(
            request.temperature == 0.2 && request.topP == 0.9 && request.maxTokens == 100 && request.stop == ["END"])
        #expect(request.seed == 7 && request.n == 1 && request.user == "u1" && request.stream && request.includeUsage)
        #expect(request.toolChoice == .function("lookup") && request.parallelToolCalls == false)
        #expect(request.tools == [ToolDefinition(name: "lookup", description: "d", parameters: ["type": "object"])])
        #expect(request.messages[0].role == .system)
        #expect(
            request.messages[1].content[1]
                == .image(ImageSource(base64: "iVBOR", mediaType: "image/png", detail: "low")))
        #expect(request.messages[2].toolCalls == [ToolCall(id: "c1", name: "lookup", arguments: "{\"q\":1}")])
        #expect(request.messages[3].toolCallID == "c1" && request.messages[3].extra == ["cache_hint": "x"])
        #expect(request.extra == ["logprobs": true, "metadata": ["a": "b"]])
    }

    /// Fields the gateway does not model reach an OpenAI-compatible upstream unchanged.
    @Test func roundTripsToTheUpstreamWithoutLosingFields() throws {
        let request = try OpenAIChatDecoding.request(Self.fullRequest)
        let upstream = try OpenAIChatEncoding.upstreamRequest(request, model: "gpt-4o-2024-08-06")
        #expect(upstream["model"] == "gpt-4o-2024-08-06")
        #expect(upstream["logprobs"] == true && upstream["metadata"] == ["a": "b"])
        #expect(upstream["stream_options"] == ["include_usage": true])
        let messages = try #require(upstream["messages"]?.array)
        #expect(
            messages[1]["content"]?.array?[2] == [
                "type": "input_audio", "input_audio": ["data": "xx", "format": "wav"],
            ])
        #expect(messages[1]["content"]?.array?[1]["image_url"]?["url"] == "data:image/png;base64,iVBOR")
        #expect(messages[3]["cache_hint"] == "x")
        // Decoding what we send gives back the same canonical request.
        var again = try OpenAIChatDecoding.request(upstream)
        again.model = request.model
        #expect(again.messages == request.messages)
        #expect(again.tools == request.tools && again.toolChoice == request.toolChoice)
    }

    @Test(arguments: [
        (["model": "m"] as JSONValue, "messages"),
        (["model": "m", "messages": "hi"] as JSONValue, "messages"),
        (["messages": [["role": "user", "content": "x"]]] as JSONValue, "model"),
        (
            ["model": "m", "messages": [["role": "user", "content": "x"]], "temperature": "hot"] as JSONValue,
            "temperature"
        ),
        (
            ["model": "m", "messages": [["role": "user", "content": "x"]], "temperature": 3] as JSONValue, "temperature"
        ),
        (["model": "m", "messages": [["role": "pirate", "content": "x"]]] as JSONValue, "messages[0].role"),
        (["model": "m", "messages": [["role": "user", "content": 5]]] as JSONValue, "messages[0].content"),
        (["model": "m", "messages": [["role": "tool", "content": "x"]]] as JSONValue, "messages[0].tool_call_id"),
        (["model": "m", "messages": [["role": "user", "content": "x"]], "max_tokens": 0] as JSONValue, "max_tokens"),
        (
            ["model": "m", "messages": [["role": "user", "content": "x"]], "tool_choice": "sometimes"] as JSONValue,
            "tool_choice"
        ),
    ])
    func rejectsBadRequestsNamingTheParameter(body: JSONValue, param: String) {
        #expect(throws: GatewayError.self) { try OpenAIChatDecoding.request(body) }
        do {
            _ = try OpenAIChatDecoding.request(body)
        } catch {
            #expect(error.param == param)
            #expect(error.status == .badRequest)
        }
    }

    @Test(arguments: [("none", ToolChoice.none), ("auto", .auto), ("required", .required)])
    func decodesToolChoiceStrings(text: String, expected: ToolChoice) throws {
        let body: JSONValue = [
            "model": "m", "messages": [["role": "user", "content": "x"]], "tool_choice": .string(text),
        ]
        #expect(try OpenAIChatDecoding.request(body).toolChoice == expected)
    }

    @Test func encodesResponsesAndChunksAsOpenAIDoes() throws {
        let response = ChatResponse(
            id: "chatcmpl-1", model: "gpt-4o", created: 10,
            choices: [ChatChoice(index: 0, message: ChatMessage(role: .assistant, text: "Hi"), finishReason: .stop)],
            usage: Usage(promptTokens: 3, completionTokens: 1, cachedPromptTokens: 2))
        let json = OpenAIChatEncoding.response(response)
        #expect(json["object"] == "chat.completion")
        #expect(json["choices"]?.array?[0]["message"]?["content"] == "Hi")
        #expect(json["usage"]?["total_tokens"] == 4 && json["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 2)
        let decoded = try OpenAIChatDecoding.response(json, publicModel: "gpt-4o")
        #expect(decoded == response)

        let chunks = response.chunks(includeUsage: true)
        var accumulator = ChatStreamAccumulator()
        for chunk in chunks {
            accumulator.add(OpenAIChatDecoding.chunk(OpenAIChatEncoding.chunk(chunk), publicModel: "gpt-4o"))
        }
        #expect(accumulator.isComplete)
        #expect(accumulator.response == response)
    }

    @Test func theEventEncoderHidesUsageUnlessAskedFor() {
        let usageChunk = ChatChunk(
            id: "c", model: "m", created: 0, choices: [], usage: Usage(promptTokens: 1, completionTokens: 1))
        var quiet = OpenAIEventEncoder(includeUsage: false)
        #expect(quiet.encode(usageChunk).isEmpty)
        var loud = OpenAIEventEncoder(includeUsage: true)
        #expect(loud.encode(usageChunk).count == 1)
        #expect(loud.finish() == ["data: [DONE]\n\n"])
    }
}
