import Canonical

/// Encodes canonical chat types as Anthropic Messages API JSON: responses for clients, requests for
/// upstreams.
package enum AnthropicEncoding {
    package static let defaultMaxTokens = 4096

    // MARK: - For clients

    package static func response(_ response: ChatResponse) -> JSONValue {
        let choice = response.choices.first
        var content: [JSONValue] = []
        let text = choice?.message.text ?? ""
        if !text.isEmpty || choice?.message.toolCalls.isEmpty != false {
            content.append(["type": "text", "text": .string(text)])
        }
        for call in choice?.message.toolCalls ?? [] {
            content.append([
                "type": "tool_use", "id": .string(call.id), "name": .string(call.name),
                "input": arguments(call.arguments),
            ])
        }
        return [
            "id": .string(messageID(response.id)), "type": "message", "role": "assistant",
            "model": .string(response.model),
            "content": .array(content), "stop_reason": .string(stopReason(choice?.finishReason)),
            "stop_sequence": .null,
            "usage": usage(response.usage),
        ]
    }

    package static func usage(_ usage: Usage?) -> JSONValue {
        let cached = usage?.cachedPromptTokens ?? 0
        return [
            "input_tokens": .integer(Int64(max((usage?.promptTokens ?? 0) - cached, 0))),
            "output_tokens": .integer(Int64(usage?.completionTokens ?? 0)),
            "cache_read_input_tokens": .integer(Int64(cached)), "cache_creation_input_tokens": 0,
        ]
    }

    package static func stopReason(_ reason: FinishReason?) -> String {
        switch reason {
        case .length: "max_tokens"
        case .toolCalls: "tool_use"
        case .contentFilter: "refusal"
        case .stop, nil: "end_turn"
        }
    }

    /// Anthropic ids start with `msg_`; other upstreams' ids are prefixed so clients see the usual shape.
    package static func messageID(_ id: String) -> String { id.hasPrefix("msg_") ? id : "msg_" + id }

    /// Tool arguments as a JSON object; arguments that are not a JSON object are wrapped.
    package static func arguments(_ text: String) -> JSONValue {
        guard let value = try? JSONValue.parse(Array(text.utf8)), value.object != nil else {
            return text.isEmpty ? [:] : ["arguments": .string(text)]
        }
        return value
    }

    // MARK: - For upstreams

    /// The forced tool that carries another protocol's `response_format` to an Anthropic upstream.
    package static let jsonToolName = "json_response"

    /// Whether `request`'s `response_format` goes upstream as the forced ``jsonToolName`` tool, whose input
    /// the answer's decoder turns back into text.
    package static func usesJSONTool(_ request: ChatRequest) -> Bool {
        guard request.origin != .anthropic else { return false }
        return ["json_object", "json_schema"].contains(request.responseFormat?["type"]?.string ?? "")
    }

    package static func upstreamRequest(_ request: ChatRequest, model: String) throws(UpstreamFailure) -> JSONValue {
        try Translation.check(request, for: .anthropic)
        var object = request.origin == .anthropic ? request.extra : [:]
        object["model"] = .string(model)
        object["max_tokens"] = .integer(Int64(request.maxTokens ?? defaultMaxTokens))
        let system = request.messages.filter { $0.role == .system }.map(\.text).joined(separator: "\n\n")
        if !system.isEmpty { object["system"] = .string(system) }
        object["messages"] = .array(messages(request.messages.filter { $0.role != .system }))
        if let temperature = request.temperature { object["temperature"] = .number(min(temperature, 1)) }
        if let topP = request.topP { object["top_p"] = .number(topP) }
        if let topK = request.topK { object["top_k"] = .integer(Int64(topK)) }
        if let stop = request.stop { object["stop_sequences"] = .array(stop.map(JSONValue.string)) }
        if let user = request.user { object["metadata"] = ["user_id": .string(user)] }
        var tools = request.tools ?? []
        var toolChoice = request.toolChoice
        try structuredOutput(request, into: &object, tools: &tools, toolChoice: &toolChoice)
        if !tools.isEmpty {
            // An Anthropic client's server tools arrive in `extra["tools"]`, beside the custom ones.
            object["tools"] = .array(
                tools.map { tool in
                    var json: [String: JSONValue] = [
                        "name": .string(tool.name), "input_schema": tool.parameters ?? ["type": "object"],
                    ]
                    if let description = tool.description { json["description"] = .string(description) }
                    return .object(json)
                } + (object["tools"]?.array ?? []))
        }
        if toolChoice != nil || request.parallelToolCalls == false {
            var choice: [String: JSONValue]
            switch toolChoice ?? .auto {
            case .auto: choice = ["type": "auto"]
            case .none: choice = ["type": "none"]
            case .required: choice = ["type": "any"]
            case .function(let name): choice = ["type": "tool", "name": .string(name)]
            }
            if request.parallelToolCalls == false { choice["disable_parallel_tool_use"] = true }
            object["tool_choice"] = .object(choice)
        }
        if request.stream { object["stream"] = true }
        return .object(object)
    }

    /// `response_format` for an Anthropic upstream. From an Anthropic client it goes back as the native
    /// `output_config.format` it came as. From other protocols it becomes a forced tool whose input schema
    /// is the response schema (`{"type":"object"}` for json_object), and whose input the decoder returns as
    /// the message text: unlike native structured output, a forced tool works on every Claude model and on
    /// Anthropic-compatible upstreams (Bedrock, Vertex, proxies), and it also expresses json_object, which
    /// `output_config` cannot. With tools of the client's own, the JSON tool joins them unforced.
    private static func structuredOutput(
        _ request: ChatRequest, into object: inout [String: JSONValue], tools: inout [ToolDefinition],
        toolChoice: inout ToolChoice?
    ) throws(UpstreamFailure) {
        guard let format = request.responseFormat else { return }
        let type = format["type"]?.string
        if request.origin == .anthropic, type == "json_schema", let schema = format["json_schema"]?["schema"] {
            var config = object["output_config"]?.object ?? [:]
            config["format"] = ["type": "json_schema", "schema": schema]
            object["output_config"] = .object(config)
            return
        }
        let schema: JSONValue
        switch type {
        case "text": return
        case "json_object": schema = ["type": "object"]
        case "json_schema":
            guard let given = format["json_schema"]?["schema"] else {
                throw .unsupported("`response_format.json_schema.schema` is required.", param: "response_format")
            }
            schema = given
        default:
            throw .unsupported(
                "`response_format` of type `\(type ?? "unknown")` is not supported by an Anthropic deployment.",
                param: "response_format.type")
        }
        let name = format["json_schema"]?["name"]?.string
        let description =
            "Respond with the answer as this tool's input"
            + (name.map { ", a `\($0)` object" } ?? ", a JSON object")
            + (format["json_schema"]?["description"]?.string.map { ": \($0)" } ?? ".")
        let forced = tools.isEmpty
        tools.append(ToolDefinition(name: jsonToolName, description: description, parameters: schema))
        if forced { toolChoice = .function(jsonToolName) }
    }

    /// Canonical turns as Anthropic messages: tool results join the user turn that follows the calls, and
    /// consecutive turns of one role merge, as the API requires alternation.
    private static func messages(_ turns: [ChatMessage]) -> [JSONValue] {
        var result: [(role: String, blocks: [JSONValue])] = []
        func append(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            if result.last?.role == role {
                result[result.count - 1].blocks += blocks
            } else {
                result.append((role, blocks))
            }
        }
        for turn in turns {
            switch turn.role {
            case .tool:
                var block: [String: JSONValue] = ["type": "tool_result", "tool_use_id": .string(turn.toolCallID ?? "")]
                block["content"] = .array(turn.content.map(self.block))
                append("user", [.object(block)])
            case .assistant:
                var blocks = turn.content.map(block)
                for call in turn.toolCalls {
                    blocks.append([
                        "type": "tool_use", "id": .string(call.id), "name": .string(call.name),
                        "input": arguments(call.arguments),
                    ])
                }
                append("assistant", blocks)
            case .user, .system:
                append("user", turn.content.map(block))
            }
        }
        return result.map { ["role": .string($0.role), "content": .array($0.blocks)] }
    }

    private static func block(_ part: ContentPart) -> JSONValue {
        switch part {
        case .text(let text):
            return ["type": "text", "text": .string(text)]
        case .image(let image):
            if let inline = image.inlineData {
                return [
                    "type": "image",
                    "source": [
                        "type": "base64", "media_type": .string(inline.mediaType), "data": .string(inline.base64),
                    ],
                ]
            }
            return ["type": "image", "source": ["type": "url", "url": .string(image.url ?? "")]]
        case .other(let raw):
            return raw
        }
    }
}

/// Anthropic's stream for clients, derived from canonical chunks: message_start, a ping, content blocks
/// (text, then each tool call) with their start, deltas and stop, message_delta with the stop reason and
/// output tokens, message_stop.
package struct AnthropicEventEncoder: ChatEventEncoder {
    package init() {}

    private var started = false
    private var openBlock: Int?
    private var openBlockIsText = false
    private var nextBlock = 0
    /// Canonical tool call index to content block index.
    private var toolBlocks: [Int: Int] = [:]
    private var stopReason: FinishReason?
    private var usage: Usage?
    private var id = ""
    private var model = ""

    private mutating func start(_ chunk: ChatChunk) -> [String] {
        guard !started else { return [] }
        started = true
        id = AnthropicEncoding.messageID(chunk.id)
        model = chunk.model
        let message: JSONValue = [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": [],
            "stop_reason": .null, "stop_sequence": .null,
            "usage": ["input_tokens": .integer(Int64(chunk.promptTokens ?? 0)), "output_tokens": 0],
        ]
        return [
            Self.event(["type": "message_start", "message": message], name: "message_start"),
            Self.event(["type": "ping"], name: "ping"),
        ]
    }

    private mutating func closeBlock() -> [String] {
        guard let block = openBlock else { return [] }
        openBlock = nil
        return [
            Self.event(["type": "content_block_stop", "index": .integer(Int64(block))], name: "content_block_stop")
        ]
    }

    package mutating func encode(_ chunk: ChatChunk) -> [String] {
        var events = start(chunk)
        if let usage = chunk.usage { self.usage = usage }
        for choice in chunk.choices where choice.index == 0 {
            if let text = choice.text, !text.isEmpty {
                if openBlock == nil || !openBlockIsText {
                    events += closeBlock()
                    openBlock = nextBlock
                    openBlockIsText = true
                    nextBlock += 1
                    events.append(
                        Self.event(
                            [
                                "type": "content_block_start", "index": .integer(Int64(openBlock!)),
                                "content_block": ["type": "text", "text": ""],
                            ],
                            name: "content_block_start"))
                }
                events.append(
                    Self.event(
                        [
                            "type": "content_block_delta", "index": .integer(Int64(openBlock!)),
                            "delta": ["type": "text_delta", "text": .string(text)],
                        ],
                        name: "content_block_delta"))
            }
            for call in choice.toolCalls {
                if toolBlocks[call.index] == nil {
                    events += closeBlock()
                    let block = nextBlock
                    nextBlock += 1
                    toolBlocks[call.index] = block
                    openBlock = block
                    openBlockIsText = false
                    events.append(
                        Self.event(
                            [
                                "type": "content_block_start", "index": .integer(Int64(block)),
                                "content_block": [
                                    "type": "tool_use", "id": .string(call.id ?? ChatIdentifiers.toolCallID()),
                                    "name": .string(call.name ?? ""),
                                    "input": [:],
                                ],
                            ], name: "content_block_start"))
                }
                if let arguments = call.arguments, !arguments.isEmpty, let block = toolBlocks[call.index] {
                    events.append(
                        Self.event(
                            [
                                "type": "content_block_delta", "index": .integer(Int64(block)),
                                "delta": ["type": "input_json_delta", "partial_json": .string(arguments)],
                            ], name: "content_block_delta"))
                }
            }
            if let reason = choice.finishReason { stopReason = reason }
        }
        return events
    }

    package mutating func finish() -> [String] {
        var events = start(ChatChunk(id: ChatIdentifiers.messageID(), model: model, created: 0, choices: []))
        if nextBlock == 0 {
            events.append(
                Self.event(
                    ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]],
                    name: "content_block_start"))
            openBlock = 0
            nextBlock = 1
        }
        events += closeBlock()
        events.append(
            Self.event(
                [
                    "type": "message_delta",
                    "delta": [
                        "stop_reason": .string(AnthropicEncoding.stopReason(stopReason)), "stop_sequence": .null,
                    ],
                    "usage": AnthropicEncoding.usage(usage),
                ], name: "message_delta"))
        events.append(Self.event(["type": "message_stop"], name: "message_stop"))
        return events
    }

    package mutating func fail(_ error: GatewayError) -> [String] {
        [Self.event(error.body(for: .anthropic), name: "error")]
    }
}
