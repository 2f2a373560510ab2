import NIOCore
import Testing

@testable import Proxy

/// The Responses API codec: requests decode to the canonical request their chat completions equivalent
/// decodes to, responses encode as OpenAI's `response` objects, and streams as its typed event sequence.
@Suite struct ResponsesCodecTests {
    static let agentRequest: JSONValue = [
        "model": "chat", "instructions": "You are terse.",
        "input": [
            ["role": "user", "content": [["type": "input_text", "text": "Weather in Paris?"]]],
            [
                "type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": #"{"city":"Paris"}"#,
                "id": "fc_1", "status": "completed",
            ],
            ["type": "function_call_output", "call_id": "call_1", "output": "18 C"],
        ],
        "tools": [
            [
                "type": "function", "name": "lookup", "description": "Looks up.", "parameters": ["type": "object"],
                "strict": true,
            ]
        ],
        "tool_choice": "auto", "temperature": 0.2, "top_p": 0.9, "max_output_tokens": 64,
        "parallel_tool_calls": false,
        // Sent by the SDKs by default, or without effect on the answer: accepted.
        "store": true, "metadata": ["app": "demo"], "include": [], "truncation": "disabled", "user": "u-1",
        "prompt_cache_key": "k", "service_tier": "auto", "safety_identifier": "s", "reasoning": .null,
        "stream_options": .null,
    ]

    static let chatEquivalent: JSONValue = [
        "model": "chat",
        "messages": [
            ["role": "system", "content": "You are terse."],
            ["role": "user", "content": "Weather in Paris?"],
            [
                "role": "assistant", "content": .null,
                "tool_calls": [
                    [
                        "id": "call_1", "type": "function",
                        "function": ["name": "lookup", "arguments": #"{"city":"Paris"}"#],
                    ]
                ],
            ],
            ["role": "tool", "tool_call_id": "call_1", "content": "18 C"],
        ],
        "tools": [
            [
                "type": "function",
                "function": [
                    "name": "lookup", "description": "Looks up.", "parameters": ["type": "object"], "strict": true,
                ],
            ]
        ],
        "tool_choice": "auto", "temperature": 0.2, "top_p": 0.9, "max_tokens": 64, "parallel_tool_calls": false,
        "user": "u-1",
    ]

    @Test func aRequestDecodesToItsChatEquivalentAndKeysAlike() throws {
        let responses = try ResponsesDecoding.request(Self.agentRequest)
        var chat = try OpenAIChatDecoding.request(Self.chatEquivalent)
        #expect(responses.chat.origin == .responses)
        #expect(responses.hasInstructions && responses.store && responses.previousResponseID == nil)
        chat.origin = .responses
        #expect(responses.chat == chat)
        #expect(
            CanonicalJSONTests.key(responses.chat)
                == CanonicalJSONTests.key(try OpenAIChatDecoding.request(Self.chatEquivalent)))
    }

    @Test func aStringInputIsOneUserTurnAndImagesKeepTheirURL() throws {
        let plain = try ResponsesDecoding.request(["model": "chat", "input": "Hello"])
        #expect(plain.chat.messages == [ChatMessage(role: .user, text: "Hello")])
        #expect(!plain.hasInstructions)
        let image = try ResponsesDecoding.request([
            "model": "chat",
            "input": [
                [
                    "type": "message", "role": "developer",
                    "content": [["type": "input_text", "text": "Describe."]],
                ],
                [
                    "role": "user",
                    "content": [
                        ["type": "input_image", "image_url": "https://example.com/cat.png", "detail": "low"],
                        ["type": "input_image", "image_url": "data:image/png;base64,AAAA"],
                    ],
                ],
            ],
        ])
        #expect(image.chat.messages[0] == ChatMessage(role: .system, text: "Describe."))
        #expect(
            image.chat.messages[1].content == [
                .image(ImageSource(url: "https://example.com/cat.png", detail: "low")),
                .image(ImageSource(base64: "AAAA", mediaType: "image/png")),
            ])
    }

    @Test func textFormatBecomesResponseFormat() throws {
        let schema: JSONValue = ["type": "object", "properties": ["city": ["type": "string"]]]
        let request = try ResponsesDecoding.request([
            "model": "chat", "input": "Where?",
            "text": ["format": ["type": "json_schema", "name": "place", "schema": schema, "strict": true]],
        ])
        #expect(
            request.chat.responseFormat == [
                "type": "json_schema", "json_schema": ["name": "place", "schema": schema, "strict": true],
            ])
        let object = try ResponsesDecoding.request([
            "model": "chat", "input": "Where?", "text": ["format": ["type": "json_object"]],
        ])
        #expect(object.chat.responseFormat == ["type": "json_object"])
        let plain = try ResponsesDecoding.request([
            "model": "chat", "input": "Where?", "text": ["format": ["type": "text"]],
        ])
        #expect(plain.chat.responseFormat == nil)
    }

    @Test(
        arguments: [
            (
                [
                    "model": "chat", "input": "Hi",
                    "tools": [["type": "function", "name": "f"], ["type": "web_search"]],
                ], "tools[1].type"
            ),
            (
                ["model": "chat", "input": "Hi", "tools": [["type": "file_search", "vector_store_ids": ["v"]]]],
                "tools[0].type"
            ),
            (["model": "chat", "input": "Hi", "conversation": "conv_1"], "conversation"),
            (["model": "chat", "input": "Hi", "reasoning": ["effort": "high"]], "reasoning.effort"),
            (["model": "chat", "input": [["type": "item_reference", "id": "msg_1"]]], "input[0].type"),
            (["model": "chat", "input": []], "input"),
            (["model": "chat", "input": "Hi", "tool_choice": ["type": "web_search_preview"]], "tool_choice"),
            (
                ["model": "chat", "input": "Hi", "text": ["format": ["type": "json_schema", "name": "x"]]],
                "text.format.schema"
            ),
            (["input": "Hi"], "model"),
        ] as [(JSONValue, String)])
    func whatCannotBeHonouredIsRefusedNamingTheParameter(_ body: JSONValue, param: String) {
        let error = #expect(throws: GatewayError.self) { try ResponsesDecoding.request(body) }
        #expect(error?.statusCode == 400 && error?.param == param)
        #expect(error?.body(for: .responses)["error"]?["param"] == .string(param))
    }

    @Test func aResponseIsAnOpenAIResponseObject() throws {
        let request = try ResponsesDecoding.request(Self.agentRequest)
        let object = ResponsesEncoding.response(CodecRoundTripTests.response, id: "resp_1", request: request)
        #expect(object["id"] == "resp_1" && object["object"] == "response" && object["status"] == "completed")
        #expect(object["model"] == "chat" && object["created_at"] == 1_764_600_000)
        #expect(object["instructions"] == "You are terse." && object["metadata"] == ["app": "demo"])
        #expect(
            object["temperature"] == 0.2 && object["max_output_tokens"] == 64 && object["parallel_tool_calls"] == false)
        #expect(object["tools"] == Self.agentRequest["tools"] && object["error"] == .null)
        let output = try #require(object["output"]?.array)
        #expect(output.count == 2)
        #expect(
            output[0]["type"] == "message" && output[0]["role"] == "assistant" && output[0]["status"] == "completed")
        #expect(output[0]["id"]?.string?.hasPrefix("msg_") == true)
        #expect(
            output[0]["content"] == [
                ["type": "output_text", "text": "Let me look that up.", "annotations": [], "logprobs": []]
            ])
        #expect(output[1]["type"] == "function_call" && output[1]["call_id"] == "call_1_lookup")
        #expect(output[1]["name"] == "lookup" && output[1]["arguments"] == #"{"q":"weather"}"#)
        #expect(output[1]["id"]?.string?.hasPrefix("fc_") == true)
        #expect(
            object["usage"] == [
                "input_tokens": 21, "input_tokens_details": ["cached_tokens": 0], "output_tokens": 9,
                "output_tokens_details": ["reasoning_tokens": 0], "total_tokens": 30,
            ])
    }

    @Test func aTruncatedAnswerIsIncomplete() throws {
        var response = CodecRoundTripTests.response
        response.choices[0].finishReason = .length
        response.choices[0].message.toolCalls = []
        let object = ResponsesEncoding.response(
            response, id: "resp_1", request: try ResponsesDecoding.request(["model": "chat", "input": "Hi"]))
        #expect(object["status"] == "incomplete" && object["incomplete_details"] == ["reason": "max_output_tokens"])
        #expect(object["output"]?.array?.first?["status"] == "incomplete")
        #expect(object["instructions"] == .null && object["tools"] == [] && object["tool_choice"] == "auto")
        #expect(object["text"] == ["format": ["type": "text"]] && object["store"] == true)
    }

    /// The events of a stream, parsed back from its server-sent events.
    static func events(_ chunks: [ChatChunk], failing error: GatewayError? = nil) throws -> (
        events: [JSONValue], encoder: ResponsesEventEncoder
    ) {
        var encoder = ResponsesEventEncoder(
            id: "resp_1", request: try ResponsesDecoding.request(["model": "chat", "input": "Hi", "stream": true]))
        var text = chunks.flatMap { encoder.encode($0) }.joined()
        text += (error.map { encoder.fail($0) } ?? encoder.finish()).joined()
        var parser = ServerSentEventParser()
        let events = try parser.feed(ByteBuffer(string: text)) + (try parser.finish())
        for event in events {
            #expect(try JSONValue.parse(Array(event.data.utf8))["type"]?.string == event.event)
        }
        return (try events.map { try JSONValue.parse(Array($0.data.utf8)) }, encoder)
    }

    @Test func aStreamIsTheTypedEventSequenceInOrder() throws {
        let (events, encoder) = try Self.events(CodecRoundTripTests.response.chunks(includeUsage: true))
        #expect(
            events.map { $0["type"]?.string ?? "" } == [
                "response.created", "response.in_progress",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta",
                "response.function_call_arguments.done", "response.output_item.done",
                "response.completed",
            ])
        #expect(events.map { $0["sequence_number"]?.integer ?? -1 } == Array(0..<Int64(events.count)))
        #expect(events[0]["response"]?["status"] == "in_progress" && events[0]["response"]?["output"] == [])
        #expect(events[2]["output_index"] == 0 && events[2]["item"]?["status"] == "in_progress")
        #expect(events[4]["delta"] == "Let me look that up." && events[4]["item_id"] == events[2]["item"]?["id"])
        #expect(events[5]["text"] == "Let me look that up.")
        #expect(events[8]["output_index"] == 1 && events[8]["item"]?["call_id"] == "call_1_lookup")
        #expect(events[8]["item"]?["arguments"] == "" && events[9]["delta"] == #"{"q":"weather"}"#)
        #expect(events[10]["arguments"] == #"{"q":"weather"}"# && events[10]["name"] == "lookup")
        let completed = try #require(events.last?["response"])
        #expect(completed["status"] == "completed" && completed["id"] == "resp_1")
        #expect(completed["usage"]?["input_tokens"] == 21 && completed["usage"]?["output_tokens"] == 9)
        #expect(completed["output"]?.array?.map { $0["type"] } == ["message", "function_call"])
        let stored = try #require(encoder.completedResponse)
        #expect(try JSONValue.parse(stored.serialized()) == completed)
    }

    @Test func textStreamedInPiecesIsOneItem() throws {
        let chunks =
            ["Hel", "lo", "!"].map { text in
                ChatChunk(id: "c", model: "chat", created: 1, choices: [ChunkChoice(index: 0, text: text)])
            } + [ChatChunk(id: "c", model: "chat", created: 1, choices: [ChunkChoice(index: 0, finishReason: .length)])]
        let (events, _) = try Self.events(chunks)
        #expect(events.filter { $0["type"] == "response.output_text.delta" }.map { $0["delta"] } == ["Hel", "lo", "!"])
        #expect(events.filter { $0["type"] == "response.output_item.added" }.count == 1)
        #expect(events.first { $0["type"] == "response.output_text.done" }?["text"] == "Hello!")
        #expect(events.last?["type"] == "response.incomplete")
        #expect(events.last?["response"]?["incomplete_details"] == ["reason": "max_output_tokens"])
    }

    @Test func aStreamThatFailsEndsWithResponseFailed() throws {
        let chunk = ChatChunk(id: "c", model: "chat", created: 1, choices: [ChunkChoice(index: 0, text: "Par")])
        let (events, encoder) = try Self.events(
            [chunk], failing: GatewayError(.upstreamFailed, "The upstream stream failed.", code: "stream_failed"))
        let failed = try #require(events.last)
        #expect(failed["type"] == "response.failed")
        #expect(failed["response"]?["status"] == "failed")
        #expect(failed["response"]?["error"] == ["code": "stream_failed", "message": "The upstream stream failed."])
        #expect(encoder.completedResponse == nil)
    }

    @Test func aContinuedConversationKeepsTheNewInstructionsFirst() throws {
        var request = try ResponsesDecoding.request([
            "model": "chat", "instructions": "Be kind.", "input": "And tomorrow?", "previous_response_id": "resp_0",
        ])
        let earlier = [ChatMessage(role: .user, text: "Weather?"), ChatMessage(role: .assistant, text: "Sunny.")]
        request.continueConversation(earlier)
        #expect(request.previousResponseID == "resp_0")
        #expect(
            request.chat.messages.map(\.text) == ["Be kind.", "Weather?", "Sunny.", "And tomorrow?"])
        let stored = request.conversation(answeredBy: ChatMessage(role: .assistant, text: "Rain."))
        #expect(stored.map(\.text) == ["Weather?", "Sunny.", "And tomorrow?", "Rain."])
    }

    @Test func responsesPathsAnswerInOpenAIsErrorFormat() throws {
        #expect(ClientProtocol.forPath("/v1/responses") == .responses)
        #expect(ClientProtocol.forPath("/v1/responses/resp_1") == .responses)
        #expect(ChatCodecs.route(for: "/v1/responses")?.codec.wireProtocol == .responses)
        let body = GatewayError.invalid("`input` is required.", param: "input").body(for: .responses)
        #expect(body == GatewayError.invalid("`input` is required.", param: "input").body(for: .openAI))
    }

    @Test func aRequestRoundTripsThroughTheNativeUpstreamEncoding() throws {
        let original = try ResponsesDecoding.request(Self.agentRequest).chat
        let body = try ResponsesCodec().upstreamRequest(original, model: "gpt-upstream")
        #expect(body["model"] == "gpt-upstream" && body["store"] == false && body["input"]?.array?.count == 4)
        let decoded = try ResponsesDecoding.request(body).chat
        var expected = original
        expected.model = "gpt-upstream"
        #expect(decoded == expected)
    }

    @Test func chatParametersTheResponsesAPILacksAreRefusedUpstream() throws {
        var request = try ResponsesDecoding.request(["model": "chat", "input": "Hi"]).chat
        request.stop = ["END"]
        #expect(throws: UpstreamFailure.self) { try ResponsesCodec().upstreamRequest(request, model: "gpt") }
    }
}
