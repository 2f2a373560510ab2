import NIOCore
import Testing

@testable import Proxy

/// Faithful translation between protocols: every parameter with an equivalent arrives mapped, the ones
/// without are refused naming the parameter or dropped by policy, and nothing changes silently.
@Suite struct TranslationTests {
    static func openAI(_ fields: [String: JSONValue]) throws -> ChatRequest {
        var body: [String: JSONValue] = ["model": "chat", "messages": [["role": "user", "content": "Hi"]]]
        for (key, value) in fields { body[key] = value }
        return try OpenAIChatDecoding.request(.object(body))
    }

    static func anthropic(_ fields: [String: JSONValue]) throws -> ChatRequest {
        var body: [String: JSONValue] = [
            "model": "claude", "max_tokens": 64, "messages": [["role": "user", "content": "Hi"]],
        ]
        for (key, value) in fields { body[key] = value }
        return try AnthropicDecoding.request(.object(body))
    }

    static func upstream(_ request: ChatRequest, _ target: ClientProtocol) throws -> JSONValue {
        try ChatCodecs.upstream(target).upstreamRequest(request, model: "m")
    }

    static let personSchema: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["name"],
        "properties": [
            "name": ["type": "string"], "nickname": ["type": ["string", "null"]],
            "address": ["$ref": "#/$defs/Address"],
        ],
        "$defs": ["Address": ["type": "object", "properties": ["city": ["type": "string"]]]],
    ]

    // MARK: - max_completion_tokens

    @Test func maxCompletionTokensBecomesEachProtocolsOutputLimit() throws {
        let request = try Self.openAI(["max_completion_tokens": 77])
        #expect(try Self.upstream(request, .anthropic)["max_tokens"] == 77)
        #expect(try Self.upstream(request, .gemini)["generationConfig"]?["maxOutputTokens"] == 77)
        let openAI = try Self.upstream(request, .openAI)
        #expect(openAI["max_completion_tokens"] == 77 && openAI["max_tokens"] == nil)
    }

    // MARK: - Structured output

    @Test func responseFormatReachesAnthropicAsAForcedJSONTool() throws {
        let request = try Self.openAI([
            "response_format": ["type": "json_schema", "json_schema": ["name": "person", "schema": Self.personSchema]]
        ])
        let body = try Self.upstream(request, .anthropic)
        let tool = try #require(body["tools"]?.array?.first)
        #expect(tool["name"]?.string == AnthropicEncoding.jsonToolName)
        #expect(tool["input_schema"] == Self.personSchema)
        #expect(body["tool_choice"] == ["type": "tool", "name": .string(AnthropicEncoding.jsonToolName)])

        let jsonObject = try Self.upstream(try Self.openAI(["response_format": ["type": "json_object"]]), .anthropic)
        #expect(jsonObject["tools"]?.array?.first?["input_schema"] == ["type": "object"])
    }

    @Test func theForcedJSONToolsInputIsTheAnswersText() throws {
        let request = try Self.openAI(["response_format": ["type": "json_object"]])
        let answer: JSONValue = [
            "id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "tool_use",
            "content": [
                [
                    "type": "tool_use", "id": "toolu_1", "name": .string(AnthropicEncoding.jsonToolName),
                    "input": ["name": "Ada"],
                ]
            ],
            "usage": ["input_tokens": 5, "output_tokens": 3],
        ]
        let response = try AnthropicCodec().upstreamResponse(answer, answering: request)
        let choice = try #require(response.choices.first)
        #expect(choice.message.text == #"{"name":"Ada"}"#)
        #expect(choice.message.toolCalls.isEmpty && choice.finishReason == .stop)
    }

    @Test func theForcedJSONToolStreamsAsText() throws {
        let request = try Self.openAI(["response_format": ["type": "json_object"], "stream": true])
        let events = [
            #"{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":9,"output_tokens":1}}}"#,
            #"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"json_response","input":{}}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"1}"}}"#,
            #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":4}}"#,
            #"{"type":"message_stop"}"#,
        ]
        var decoder = AnthropicCodec().streamDecoder(answering: request)
        var accumulator = ChatStreamAccumulator()
        for event in events {
            for chunk in try decoder.decode(ServerSentEvent(data: event)) { accumulator.add(chunk) }
        }
        let choice = try #require(accumulator.response.choices.first)
        #expect(choice.message.text == #"{"a":1}"# && choice.message.toolCalls.isEmpty)
        #expect(choice.finishReason == .stop && accumulator.usage?.promptTokens == 9)
    }

    @Test func anthropicOutputConfigBecomesResponseFormatAndComesBackNatively() throws {
        let request = try Self.anthropic([
            "output_config": ["format": ["type": "json_schema", "schema": Self.personSchema], "effort": "low"]
        ])
        #expect(request.responseFormat?["json_schema"]?["schema"] == Self.personSchema)
        let native = try Self.upstream(request, .anthropic)
        #expect(
            native["output_config"] == [
                "format": ["type": "json_schema", "schema": Self.personSchema], "effort": "low",
            ])
        #expect(native["tools"] == nil)

        let formatOnly = try Self.anthropic([
            "output_config": ["format": ["type": "json_schema", "schema": Self.personSchema]]
        ])
        let openAI = try Self.upstream(formatOnly, .openAI)
        #expect(openAI["response_format"]?["type"] == "json_schema")
        #expect(openAI["response_format"]?["json_schema"]?["schema"] == Self.personSchema)
        #expect(openAI["output_config"] == nil)
    }

    @Test func geminiSchemasBecomeJSONSchemaAndBack() throws {
        let body: JSONValue = [
            "contents": [["role": "user", "parts": [["text": "Hi"]]]],
            "generationConfig": [
                "responseMimeType": "application/json",
                "responseSchema": [
                    "type": "OBJECT", "propertyOrdering": ["name"],
                    "properties": [
                        "name": ["type": "STRING", "nullable": true],
                        "tags": ["type": "ARRAY", "items": ["type": "STRING"]],
                    ],
                ],
            ],
        ]
        let request = try GeminiDecoding.request(body, model: "gemini", stream: false)
        let schema = try #require(request.responseFormat?["json_schema"]?["schema"])
        #expect(
            schema == [
                "type": "object",
                "properties": [
                    "name": ["type": ["string", "null"]], "tags": ["type": "array", "items": ["type": "string"]],
                ],
            ])
        let openAI = try Self.upstream(request, .openAI)
        #expect(openAI["response_format"]?["json_schema"]?["schema"] == schema)

        let toGemini = try Self.upstream(
            try Self.openAI([
                "response_format": ["type": "json_schema", "json_schema": ["name": "p", "schema": Self.personSchema]]
            ]), .gemini)
        let converted = try #require(toGemini["generationConfig"]?["responseSchema"])
        #expect(converted["type"] == "OBJECT" && converted["additionalProperties"] == nil && converted["$defs"] == nil)
        #expect(converted["properties"]?["nickname"] == ["type": "STRING", "nullable": true])
        #expect(converted["properties"]?["address"] == ["type": "OBJECT", "properties": ["city": ["type": "STRING"]]])
    }

    @Test func aRecursiveSchemaStopsInliningAtTheDepthLimit() {
        let schema: JSONValue = [
            "$ref": "#/$defs/Node",
            "$defs": ["Node": ["type": "object", "properties": ["next": ["$ref": "#/$defs/Node"]]]],
        ]
        var depth = 0
        var node = GeminiSchema.gemini(fromJSONSchema: schema)
        while let next = node["properties"]?["next"] {
            depth += 1
            node = next
        }
        #expect(depth > 0 && depth <= GeminiSchema.maximumDepth)
        #expect(node == ["type": "OBJECT"])
    }

    // MARK: - Server tools and gaps

    @Test func anAnthropicServerToolIsRefusedElsewhereAndKeptForAnthropic() throws {
        let request = try Self.anthropic([
            "tools": [
                ["type": "web_search_20250305", "name": "web_search", "max_uses": 3],
                ["name": "lookup", "input_schema": ["type": "object"]],
            ]
        ])
        #expect(request.tools?.map(\.name) == ["lookup"])
        #expect(throws: UpstreamFailure.self) { try Self.upstream(request, .openAI) }
        do {
            _ = try Self.upstream(request, .gemini)
            Issue.record("a server tool reached a Gemini deployment")
        } catch let failure as UpstreamFailure {
            #expect(failure.gatewayError.param == "tools")
            #expect(failure.gatewayError.message.contains("web_search_20250305"))
        }
        let native = try Self.upstream(request, .anthropic)
        #expect(native["tools"]?.array?.compactMap { $0["name"]?.string } == ["lookup", "web_search"])
        #expect(native["tools"]?.array?.last?["max_uses"] == 3)
    }

    @Test func refusalsNameTheParameterInTheClientsVocabulary() throws {
        do {
            _ = try Self.upstream(try Self.openAI(["seed": 7]), .anthropic)
            Issue.record("seed reached an Anthropic deployment")
        } catch let failure as UpstreamFailure {
            #expect(failure.gatewayError.param == "seed" && failure.gatewayError.statusCode == 400)
        }
        let gemini = try GeminiDecoding.request(
            ["contents": [["parts": [["text": "Hi"]]]], "generationConfig": ["seed": 3]], model: "g", stream: false)
        #expect(Translation.gaps(gemini, for: .anthropic).map(\.param) == ["generationConfig.seed"])
    }

    @Test func theDropPolicyLeavesOutWhatHasNoEquivalentAndNamesIt() throws {
        let request = try Self.openAI(["seed": 7, "logprobs": true, "max_completion_tokens": 10, "temperature": 0.3])
        let (translated, dropped) = Translation.applying(.drop, to: request, for: .anthropic)
        #expect(dropped == ["logprobs", "seed"])
        let body = try Self.upstream(translated, .anthropic)
        #expect(body["max_tokens"] == 10 && body["temperature"] == 0.3 && body["seed"] == nil)
        #expect(Translation.applying(.refuse, to: request, for: .anthropic).dropped.isEmpty)
        #expect(Translation.applying(.drop, to: request, for: .openAI).dropped.isEmpty)
    }

    /// A content block the gateway does not model (`document`, or one Anthropic adds later) is never dropped:
    /// it reaches an Anthropic deployment as sent, and elsewhere it is refused naming where it is.
    @Test func anUnmodelledAnthropicContentBlockIsKeptOrRefusedNeverDropped() throws {
        let document: JSONValue = [
            "type": "document", "source": ["type": "text", "media_type": "text/plain", "data": "Terms."],
        ]
        let request = try Self.anthropic([
            "messages": [["role": "user", "content": [["type": "text", "text": "Summarise:"], document]]]
        ])
        let native = try Self.upstream(request, .anthropic)
        #expect(native["messages"]?.array?.first?["content"]?.array?.last == document)
        #expect(Translation.gaps(request, for: .openAI).map(\.param) == ["messages[0].content[1]"])
        #expect(Translation.gaps(request, for: .gemini).map(\.param) == ["messages[0].content[1]"])
        #expect(throws: UpstreamFailure.self) { _ = try Self.upstream(request, .openAI) }
    }

    // MARK: - Ranges

    /// OpenAI takes a temperature up to 2, Anthropic up to 1: the same value is refused only on the way to
    /// Anthropic, named as the client spelt it, and clamped under the drop policy.
    @Test func aValueOutsideTheTargetsRangeIsRefusedOrClamped() throws {
        let request = try Self.openAI(["temperature": 1.5, "top_p": 0.5])
        #expect(try Self.upstream(request, .openAI)["temperature"] == 1.5)
        do {
            _ = try Self.upstream(request, .anthropic)
            Issue.record("temperature 1.5 reached an Anthropic deployment")
        } catch let failure as UpstreamFailure {
            #expect(failure.gatewayError.param == "temperature" && failure.gatewayError.statusCode == 400)
            #expect(failure.gatewayError.message.contains("between 0.0 and 1.0"))
        }
        let (clamped, dropped) = Translation.applying(.drop, to: request, for: .anthropic)
        #expect(dropped == ["temperature"])
        #expect(try Self.upstream(clamped, .anthropic)["temperature"] == 1.0)
        #expect(try Self.upstream(clamped, .anthropic)["top_p"] == 0.5)

        let gemini = try GeminiDecoding.request(
            ["contents": [["parts": [["text": "Hi"]]]], "generationConfig": ["temperature": 1.8]], model: "g",
            stream: false)
        #expect(Translation.gaps(gemini, for: .anthropic).map(\.param) == ["generationConfig.temperature"])
        #expect(Translation.gaps(gemini, for: .openAI).isEmpty)
    }

    @Test func eachDecoderRefusesValuesOutsideItsOwnRanges() throws {
        func param(_ body: () throws -> ChatRequest) -> String? {
            do {
                _ = try body()
                return nil
            } catch let error as GatewayError {
                return error.param
            } catch {
                return "\(error)"
            }
        }
        #expect(param { try Self.openAI(["n": 129]) } == "n")
        #expect(param { try Self.openAI(["n": 128]) } == nil)
        #expect(param { try Self.openAI(["temperature": 2.5]) } == "temperature")
        #expect(param { try Self.openAI(["response_format": ["type": "xml"]]) } == "response_format.type")
        #expect(param { try Self.openAI(["response_format": ["type": "json_object"]]) } == nil)
        #expect(param { try Self.anthropic(["temperature": 1.5]) } == "temperature")
        #expect(
            param {
                try GeminiDecoding.request(
                    ["contents": [["parts": [["text": "Hi"]]]], "generationConfig": ["candidateCount": 9]], model: "g",
                    stream: false)
            } == "generationConfig.candidateCount")
    }

    // MARK: - Streams

    @Test func anthropicMessageStartCarriesTheUpstreamsInputTokens() throws {
        var decoder = AnthropicStreamDecoder(publicModel: "claude")
        let chunks = try decoder.decode(
            ServerSentEvent(
                data:
                    #"{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":42,"output_tokens":1}}}"#)
        )
        var encoder = AnthropicEventEncoder()
        let start = try #require(chunks.flatMap { encoder.encode($0) }.first)
        let data = try #require(start.split(separator: "\n").first { $0.hasPrefix("data: ") })
        let json = try JSONValue.parse(Array(data.dropFirst(6).utf8))
        #expect(json["message"]?["usage"]?["input_tokens"] == 42)
    }

    @Test func geminiStreamsAsAJSONArrayWithoutAltSSE() throws {
        let response = CodecRoundTripTests.response
        var encoder = GeminiEventEncoder(isJSONArray: true)
        var text = ""
        for chunk in response.chunks(includeUsage: true) { text += encoder.encode(chunk).joined() }
        text += encoder.finish().joined()
        #expect(encoder.contentType == "application/json")
        let array = try #require(try JSONValue.parse(Array(text.utf8)).array)
        #expect(array.count >= 2)
        #expect(array.last?["candidates"]?.array?.first?["finishReason"] == "STOP")
        #expect(array.last?["usageMetadata"]?["promptTokenCount"] == 21)

        var failing = GeminiEventEncoder(isJSONArray: true)
        let failed = failing.fail(GatewayError(.upstreamFailed, "gone")).joined()
        #expect(try JSONValue.parse(Array(failed.utf8)).array?.first?["error"]?["code"] == 502)
    }
}
