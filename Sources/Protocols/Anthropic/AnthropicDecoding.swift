import Canonical

/// Decodes Anthropic Messages API requests (from clients) and responses and stream events (from
/// upstreams) into canonical form.
package enum AnthropicDecoding {
    package static let modelledRequestFields: Set<String> = [
        "model", "messages", "system", "max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "stream",
        "tools",
        "tool_choice", "metadata",
    ]

    // MARK: - Requests

    package static func request(_ body: JSONValue) throws(GatewayError) -> ChatRequest {
        let fields = try JSONFields(body)
        let model = try fields.requiredString("model")
        guard let maxTokens = try fields.int("max_tokens", atLeast: 1) else {
            throw .invalid("`max_tokens` is required.", param: "max_tokens")
        }
        guard let messageValues = try fields.array("messages"), !messageValues.isEmpty else {
            throw .invalid("`messages` must be a non-empty array.", param: "messages")
        }
        var messages: [ChatMessage] = []
        if let system = fields.value("system") {
            if let text = system.string {
                messages.append(ChatMessage(role: .system, text: text))
            } else if let blocks = system.array {
                let texts = blocks.compactMap { $0["text"]?.string }
                guard texts.count == blocks.count else {
                    throw .invalid("`system` blocks must be text blocks.", param: "system")
                }
                messages.append(ChatMessage(role: .system, content: texts.map(ContentPart.text)))
            } else {
                throw fields.mismatch("system", "a string or an array of text blocks")
            }
        }
        for (index, value) in messageValues.enumerated() {
            messages += try message(value, path: "messages[\(index)]")
        }
        var extra = fields.remaining(excluding: modelledRequestFields)
        var tools: [ToolDefinition]?
        if let values = try fields.array("tools") {
            // Server tools (`web_search_20250305`, `code_execution_...`) run at Anthropic: they stay in
            // Anthropic's vocabulary (`extra`), for Anthropic upstreams only; custom tools are functions.
            var servers: [JSONValue] = []
            var functions: [ToolDefinition] = []
            for (index, value) in values.enumerated() {
                let tool = try JSONFields(value, path: "tools[\(index)]")
                guard try tool.string("type") ?? "custom" == "custom" else {
                    servers.append(value)
                    continue
                }
                functions.append(
                    ToolDefinition(
                        name: try tool.requiredString("name"), description: try tool.string("description"),
                        parameters: tool.value("input_schema")))
            }
            if !servers.isEmpty { extra["tools"] = .array(servers) }
            if !functions.isEmpty || servers.isEmpty { tools = functions }
        }
        let responseFormat = try structuredOutput(fields, extra: &extra)
        var toolChoice: ToolChoice?
        var parallelToolCalls: Bool?
        if let choice = try fields.fields("tool_choice") {
            switch try choice.requiredString("type") {
            case "auto": toolChoice = .auto
            case "any": toolChoice = .required
            case "none": toolChoice = ToolChoice.none
            case "tool": toolChoice = .function(try choice.requiredString("name"))
            default: throw .invalid("`tool_choice.type` must be auto, any, tool or none.", param: "tool_choice.type")
            }
            if try choice.bool("disable_parallel_tool_use") == true { parallelToolCalls = false }
        }
        let ranges = ClientProtocol.anthropic.parameterRanges
        return ChatRequest(
            model: model, messages: messages, temperature: try fields.number("temperature", in: ranges.temperature),
            topP: try fields.number("top_p", in: ranges.topP), topK: try fields.int("top_k", atLeast: 1),
            maxTokens: maxTokens,
            stop: try fields.strings("stop_sequences"), responseFormat: responseFormat, tools: tools,
            toolChoice: toolChoice, parallelToolCalls: parallelToolCalls,
            user: try fields.fields("metadata")?.string("user_id"), stream: try fields.bool("stream") ?? false,
            includeUsage: true, extra: extra, origin: .anthropic)
    }

    /// Anthropic's structured output, `output_config.format` (or the beta's top-level `output_format`), as
    /// OpenAI's `response_format` json_schema; the rest of `output_config` (`effort`) stays unmodelled.
    private static func structuredOutput(_ fields: JSONFields, extra: inout [String: JSONValue]) throws(GatewayError)
        -> JSONValue?
    {
        let config = try fields.fields("output_config")
        let format: JSONFields?
        if let nested = try config?.fields("format") {
            format = nested
            var rest = config?.object ?? [:]
            rest["format"] = nil
            extra["output_config"] = rest.isEmpty ? nil : .object(rest)
        } else if let beta = try fields.fields("output_format") {
            format = beta
            extra["output_format"] = nil
        } else {
            format = nil
        }
        guard let format else { return nil }
        guard try format.requiredString("type") == "json_schema", let schema = format.value("schema") else {
            throw .invalid("`\(format.path)` must be a json_schema format with a `schema`.", param: format.path)
        }
        return ["type": "json_schema", "json_schema": ["name": "response", "schema": schema]]
    }

    /// One Anthropic message; tool results in a user turn become tool messages of their own, before the rest.
    private static func message(_ value: JSONValue, path: String) throws(GatewayError) -> [ChatMessage] {
        let fields = try JSONFields(value, path: path)
        let role: ChatMessage.Role
        switch try fields.requiredString("role") {
        case "user": role = .user
        case "assistant": role = .assistant
        default: throw .invalid("`\(path).role` must be user or assistant.", param: "\(path).role")
        }
        guard let content = fields.value("content") else {
            throw .invalid("`\(path).content` is required.", param: "\(path).content")
        }
        if let text = content.string { return [ChatMessage(role: role, text: text)] }
        guard let blocks = content.array else {
            throw fields.mismatch("content", "a string or an array of content blocks")
        }
        var toolResults: [ChatMessage] = []
        var parts: [ContentPart] = []
        var toolCalls: [ToolCall] = []
        for (index, block) in blocks.enumerated() {
            let blockFields = try JSONFields(block, path: "\(path).content[\(index)]")
            switch try blockFields.requiredString("type") {
            case "text":
                parts.append(.text(try blockFields.requiredString("text")))
            case "image":
                parts.append(.image(try image(blockFields)))
            case "tool_use" where role == .assistant:
                toolCalls.append(
                    ToolCall(
                        id: try blockFields.requiredString("id"), name: try blockFields.requiredString("name"),
                        arguments: (blockFields.value("input") ?? [:]).jsonString))
            case "tool_result" where role == .user:
                var resultParts: [ContentPart] = []
                if let text = blockFields.value("content")?.string {
                    resultParts = [.text(text)]
                } else if let inner = try blockFields.array("content") {
                    for (offset, item) in inner.enumerated() {
                        let itemFields = try JSONFields(item, path: "\(blockFields.path).content[\(offset)]")
                        switch try itemFields.requiredString("type") {
                        case "text": resultParts.append(.text(try itemFields.requiredString("text")))
                        case "image": resultParts.append(.image(try image(itemFields)))
                        default:
                            throw .invalid(
                                "`\(itemFields.path)` must be a text or image block.", param: itemFields.path)
                        }
                    }
                }
                if try blockFields.bool("is_error") == true { resultParts.insert(.text("Error:"), at: 0) }
                toolResults.append(
                    ChatMessage(
                        role: .tool, content: resultParts, toolCallID: try blockFields.requiredString("tool_use_id")))
            default:
                parts.append(.other(block))
            }
        }
        var result = toolResults
        if !parts.isEmpty || !toolCalls.isEmpty || toolResults.isEmpty {
            result.append(ChatMessage(role: role, content: parts, toolCalls: toolCalls))
        }
        return result
    }

    private static func image(_ fields: JSONFields) throws(GatewayError) -> ImageSource {
        guard let source = try fields.fields("source") else {
            throw .invalid("`\(fields.path).source` is required.", param: fields.path)
        }
        switch try source.requiredString("type") {
        case "base64":
            return ImageSource(
                base64: try source.requiredString("data"), mediaType: try source.requiredString("media_type"))
        case "url":
            return ImageSource(url: try source.requiredString("url"))
        default:
            throw .invalid("`\(source.path).type` must be base64 or url.", param: source.path)
        }
    }

    // MARK: - Upstream answers

    package static func response(_ body: JSONValue, publicModel: String) throws(UpstreamFailure) -> ChatResponse {
        guard body["type"]?.string == "message", let blocks = body["content"]?.array else {
            throw .malformed("the answer is not an Anthropic message")
        }
        var text = ""
        var calls: [ToolCall] = []
        for block in blocks {
            switch block["type"]?.string {
            case "text": text += block["text"]?.string ?? ""
            case "tool_use":
                calls.append(
                    ToolCall(
                        id: block["id"]?.string ?? ChatIdentifiers.toolCallID(), name: block["name"]?.string ?? "",
                        arguments: (block["input"] ?? [:]).jsonString))
            default: continue
            }
        }
        return ChatResponse(
            id: body["id"]?.string ?? ChatIdentifiers.messageID(), model: publicModel,
            created: Int(ChatIdentifiers.now()),
            choices: [
                ChatChoice(
                    index: 0,
                    message: ChatMessage(
                        role: .assistant, content: text.isEmpty ? [] : [.text(text)], toolCalls: calls),
                    finishReason: finishReason(body["stop_reason"]?.string))
            ],
            usage: usage(body["usage"]))
    }

    /// An answer to a request whose `response_format` was sent as the forced JSON tool
    /// (``AnthropicEncoding/jsonToolName``): the tool's input becomes the message text, as OpenAI would
    /// have answered.
    package static func unwrappingJSONTool(_ response: ChatResponse) -> ChatResponse {
        var response = response
        for index in response.choices.indices {
            var choice = response.choices[index]
            guard
                let position = choice.message.toolCalls.firstIndex(where: { $0.name == AnthropicEncoding.jsonToolName })
            else { continue }
            let call = choice.message.toolCalls.remove(at: position)
            choice.message.content = [.text(call.arguments)]
            if choice.message.toolCalls.isEmpty && choice.finishReason == .toolCalls { choice.finishReason = .stop }
            response.choices[index] = choice
        }
        return response
    }

    package static func usage(_ value: JSONValue?) -> Usage? {
        guard let value, let input = value["input_tokens"]?.integer else { return nil }
        let cacheRead = value["cache_read_input_tokens"]?.integer ?? 0
        let cacheWrite = value["cache_creation_input_tokens"]?.integer ?? 0
        return Usage(
            promptTokens: Int(input + cacheRead + cacheWrite),
            completionTokens: Int(value["output_tokens"]?.integer ?? 0),
            cachedPromptTokens: cacheRead > 0 ? Int(cacheRead) : nil)
    }

    package static func finishReason(_ value: String?) -> FinishReason? {
        switch value {
        case nil: nil
        case "max_tokens": .length
        case "tool_use": .toolCalls
        case "refusal": .contentFilter
        default: .stop
        }
    }
}

/// Anthropic's stream: message_start, then per content block a start, deltas and a stop, then
/// message_delta (stop reason and output tokens) and message_stop; ping and unknown events are skipped.
package struct AnthropicStreamDecoder: ChatStreamDecoder {
    package let publicModel: String
    package private(set) var isComplete = false
    private var id = ""
    private var created = Int(ChatIdentifiers.now())
    private var inputTokens = 0
    private var cachedTokens: Int?
    /// Content block index to tool call index.
    private var toolIndices: [Int: Int] = [:]
    /// Whether the forced JSON tool's input is the answer's text (``AnthropicEncoding/jsonToolName``).
    private let unwrapsJSONTool: Bool
    /// The content block of the forced JSON tool, once it started.
    private var jsonToolBlock: Int?

    /// - Parameter unwrapsJSONTool: whether the request's `response_format` was sent as the forced JSON
    ///   tool, whose input is then streamed as text.
    package init(publicModel: String, unwrapsJSONTool: Bool = false) {
        self.publicModel = publicModel
        self.unwrapsJSONTool = unwrapsJSONTool
    }

    private func chunk(_ choice: ChunkChoice) -> ChatChunk {
        ChatChunk(id: id, model: publicModel, created: created, choices: [choice])
    }

    package mutating func decode(_ event: ServerSentEvent) throws(UpstreamFailure) -> [ChatChunk] {
        guard !event.data.isEmpty, let json = try? JSONValue.parse(Array(event.data.utf8)) else { return [] }
        switch json["type"]?.string ?? event.event {
        case "message_start":
            let message = json["message"] ?? .null
            id = message["id"]?.string ?? ChatIdentifiers.messageID()
            if let usage = AnthropicDecoding.usage(message["usage"]) {
                inputTokens = usage.promptTokens
                cachedTokens = usage.cachedPromptTokens
            }
            var first = chunk(ChunkChoice(index: 0, role: .assistant, text: ""))
            first.promptTokens = inputTokens
            return [first]
        case "content_block_start":
            let block = json["content_block"] ?? .null
            guard block["type"]?.string == "tool_use" else {
                let text = block["text"]?.string ?? ""
                return text.isEmpty ? [] : [chunk(ChunkChoice(index: 0, text: text))]
            }
            if unwrapsJSONTool && block["name"]?.string == AnthropicEncoding.jsonToolName {
                jsonToolBlock = Int(json["index"]?.integer ?? 0)
                return []
            }
            let index = toolIndices.count
            toolIndices[Int(json["index"]?.integer ?? 0)] = index
            return [
                chunk(
                    ChunkChoice(
                        index: 0,
                        toolCalls: [
                            ToolCallDelta(
                                index: index, id: block["id"]?.string, name: block["name"]?.string, arguments: "")
                        ]))
            ]
        case "content_block_delta":
            let delta = json["delta"] ?? .null
            switch delta["type"]?.string {
            case "text_delta":
                return [chunk(ChunkChoice(index: 0, text: delta["text"]?.string ?? ""))]
            case "input_json_delta":
                let block = Int(json["index"]?.integer ?? 0)
                if block == jsonToolBlock {
                    return [chunk(ChunkChoice(index: 0, text: delta["partial_json"]?.string ?? ""))]
                }
                guard let index = toolIndices[block] else { return [] }
                return [
                    chunk(
                        ChunkChoice(
                            index: 0,
                            toolCalls: [ToolCallDelta(index: index, arguments: delta["partial_json"]?.string ?? "")]))
                ]
            default:
                return []
            }
        case "message_delta":
            let output = Int(json["usage"]?["output_tokens"]?.integer ?? 0)
            // Later API versions repeat the input counts here; they win over message_start's.
            if let usage = AnthropicDecoding.usage(json["usage"]), usage.promptTokens > 0 {
                inputTokens = usage.promptTokens
                cachedTokens = usage.cachedPromptTokens
            }
            var reason = AnthropicDecoding.finishReason(json["delta"]?["stop_reason"]?.string) ?? .stop
            if reason == .toolCalls && jsonToolBlock != nil && toolIndices.isEmpty { reason = .stop }
            let usage = Usage(promptTokens: inputTokens, completionTokens: output, cachedPromptTokens: cachedTokens)
            return [
                chunk(ChunkChoice(index: 0, finishReason: reason)),
                ChatChunk(id: id, model: publicModel, created: created, choices: [], usage: usage),
            ]
        case "message_stop":
            isComplete = true
            return []
        case "error":
            let error = json["error"] ?? .null
            let status = error["type"]?.string == "overloaded_error" ? 529 : 500
            throw .status(status, message: error["message"]?.string ?? "error in stream", retryAfter: nil)
        default:
            return []
        }
    }
}
