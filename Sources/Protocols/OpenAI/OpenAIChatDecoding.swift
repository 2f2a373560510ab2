import Canonical

/// Decodes OpenAI chat completion requests (from clients) and responses and chunks (from upstreams) into
/// canonical form.
package enum OpenAIChatDecoding {
    package static let modelledRequestFields: Set<String> = [
        "model", "messages", "temperature", "top_p", "top_k", "max_tokens", "stop", "seed", "n", "presence_penalty",
        "frequency_penalty", "response_format", "tools", "tool_choice", "parallel_tool_calls", "user", "stream",
        "stream_options",
    ]

    // MARK: - Requests

    /// A client's request body, validated; every problem is a 400 naming the parameter.
    package static func request(_ body: JSONValue) throws(GatewayError) -> ChatRequest {
        let fields = try JSONFields(body)
        let model = try fields.requiredString("model")
        guard let messageValues = try fields.array("messages"), !messageValues.isEmpty else {
            throw .invalid("`messages` must be a non-empty array.", param: "messages")
        }
        var messages: [ChatMessage] = []
        for (index, value) in messageValues.enumerated() {
            messages.append(try message(value, path: "messages[\(index)]"))
        }
        var extra = fields.remaining(excluding: modelledRequestFields)
        let maxCompletionTokens = try fields.int("max_completion_tokens", atLeast: 1)
        if maxCompletionTokens == nil { extra["max_completion_tokens"] = nil }
        let streamOptions = try fields.fields("stream_options")
        let ranges = ClientProtocol.openAI.parameterRanges
        return ChatRequest(
            model: model, messages: messages, temperature: try fields.number("temperature", in: ranges.temperature),
            topP: try fields.number("top_p", in: ranges.topP), topK: try fields.int("top_k", atLeast: 1),
            maxTokens: try fields.int("max_tokens", atLeast: 1) ?? maxCompletionTokens,
            stop: try fields.strings("stop"),
            seed: try fields.integer("seed"), n: try fields.int("n", in: ranges.choices),
            presencePenalty: try fields.number("presence_penalty", in: ranges.penalty),
            frequencyPenalty: try fields.number("frequency_penalty", in: ranges.penalty),
            responseFormat: try responseFormat(fields),
            tools: try tools(fields), toolChoice: try toolChoice(fields),
            parallelToolCalls: try fields.bool("parallel_tool_calls"),
            user: try fields.string("user"), stream: try fields.bool("stream") ?? false,
            includeUsage: try streamOptions?.bool("include_usage") ?? false, extra: extra)
    }

    private static func message(_ value: JSONValue, path: String) throws(GatewayError) -> ChatMessage {
        let fields = try JSONFields(value, path: path)
        let roleName = try fields.requiredString("role")
        let role: ChatMessage.Role
        switch roleName {
        case "system", "developer": role = .system
        case "user": role = .user
        case "assistant": role = .assistant
        case "tool": role = .tool
        default:
            throw .invalid(
                "`\(path).role` must be system, developer, user, assistant or tool, not \(roleName).",
                param: "\(path).role")
        }
        var toolCalls: [ToolCall] = []
        for (index, call) in (try fields.array("tool_calls") ?? []).enumerated() {
            let callFields = try JSONFields(call, path: "\(path).tool_calls[\(index)]")
            guard let function = try callFields.fields("function") else {
                throw .invalid("`\(callFields.path).function` is required.", param: "\(callFields.path).function")
            }
            toolCalls.append(
                ToolCall(
                    id: try callFields.requiredString("id"), name: try function.requiredString("name"),
                    arguments: try function.string("arguments") ?? "{}"))
        }
        let content = try contentParts(fields, path: path)
        if content.isEmpty && toolCalls.isEmpty && role != .assistant {
            throw .invalid("`\(path).content` is required.", param: "\(path).content")
        }
        let toolCallID = try fields.string("tool_call_id")
        if role == .tool && toolCallID == nil {
            throw .invalid("`\(path).tool_call_id` is required for a tool message.", param: "\(path).tool_call_id")
        }
        let extra = fields.remaining(excluding: ["role", "content", "name", "tool_calls", "tool_call_id"])
        return ChatMessage(
            role: role, content: content, name: try fields.string("name"), toolCalls: toolCalls, toolCallID: toolCallID,
            extra: extra)
    }

    private static func contentParts(_ fields: JSONFields, path: String) throws(GatewayError) -> [ContentPart] {
        guard let value = fields.value("content") else { return [] }
        if let text = value.string { return [.text(text)] }
        guard let parts = value.array else { throw fields.mismatch("content", "a string or an array of content parts") }
        var result: [ContentPart] = []
        for (index, part) in parts.enumerated() {
            let partFields = try JSONFields(part, path: "\(path).content[\(index)]")
            switch try partFields.requiredString("type") {
            case "text":
                result.append(.text(try partFields.requiredString("text")))
            case "image_url":
                let url: String
                var detail: String?
                if let image = try? partFields.fields("image_url") {
                    url = try image.requiredString("url")
                    detail = try image.string("detail")
                } else {
                    url = try partFields.requiredString("image_url")
                }
                let source = ImageSource(url: url, detail: detail)
                if let inline = source.inlineData {
                    result.append(
                        .image(ImageSource(base64: inline.base64, mediaType: inline.mediaType, detail: detail)))
                } else {
                    result.append(.image(source))
                }
            default:
                result.append(.other(part))
            }
        }
        return result
    }

    private static func tools(_ fields: JSONFields) throws(GatewayError) -> [ToolDefinition]? {
        guard let values = try fields.array("tools") else { return nil }
        var tools: [ToolDefinition] = []
        for (index, value) in values.enumerated() {
            let tool = try JSONFields(value, path: "tools[\(index)]")
            guard try tool.string("type") ?? "function" == "function", let function = try tool.fields("function") else {
                throw .invalid(
                    "`tools[\(index)]` must be a function tool with a `function` object.", param: "tools[\(index)]")
            }
            tools.append(try ToolDefinition(function: function))
        }
        return tools
    }

    /// `response_format`, whose `type` must be one OpenAI defines.
    private static func responseFormat(_ fields: JSONFields) throws(GatewayError) -> JSONValue? {
        guard let format = try fields.fields("response_format") else { return nil }
        let type = try format.requiredString("type")
        guard ["text", "json_object", "json_schema"].contains(type) else {
            throw .invalid(
                "`response_format.type` must be text, json_object or json_schema, not \(type).",
                param: "response_format.type")
        }
        return .object(format.object)
    }

    private static func toolChoice(_ fields: JSONFields) throws(GatewayError) -> ToolChoice? {
        try ToolChoice.openAI(fields, objectForm: "a function") { choice throws(GatewayError) in
            try choice.fields("function")?.requiredString("name")
        }
    }

    // MARK: - Upstream answers

    /// An upstream's complete response; lenient about fields it need not understand.
    package static func response(_ body: JSONValue, publicModel: String) throws(GatewayError) -> ChatResponse {
        guard let object = body.object, let choiceValues = object["choices"]?.array else {
            throw GatewayError(.upstreamFailed, "The upstream answered with something other than a chat completion.")
        }
        let choices = choiceValues.enumerated().map { position, value in
            let message = value["message"] ?? .null
            return ChatChoice(
                index: Int(value["index"]?.integer ?? Int64(position)),
                message: ChatMessage(
                    role: .assistant, content: upstreamContent(message["content"]),
                    toolCalls: upstreamToolCalls(message["tool_calls"])),
                finishReason: finishReason(value["finish_reason"]?.string))
        }
        return ChatResponse(
            id: object["id"]?.string ?? ChatIdentifiers.completionID(), model: publicModel,
            created: Int(object["created"]?.integer ?? ChatIdentifiers.now()), choices: choices,
            usage: usage(object["usage"]))
    }

    /// One upstream stream chunk (the JSON of a `data:` line).
    package static func chunk(_ body: JSONValue, publicModel: String) -> ChatChunk {
        let choices = (body["choices"]?.array ?? []).enumerated().map { position, value in
            let delta = value["delta"] ?? .null
            let toolCalls = (delta["tool_calls"]?.array ?? []).enumerated().map { offset, call in
                ToolCallDelta(
                    index: Int(call["index"]?.integer ?? Int64(offset)), id: call["id"]?.string,
                    name: call["function"]?["name"]?.string, arguments: call["function"]?["arguments"]?.string)
            }
            return ChunkChoice(
                index: Int(value["index"]?.integer ?? Int64(position)),
                role: delta["role"]?.string.flatMap(ChatMessage.Role.init(rawValue:)), text: delta["content"]?.string,
                toolCalls: toolCalls, finishReason: finishReason(value["finish_reason"]?.string))
        }
        return ChatChunk(
            id: body["id"]?.string ?? "", model: publicModel,
            created: Int(body["created"]?.integer ?? ChatIdentifiers.now()),
            choices: choices, usage: usage(body["usage"]))
    }

    package static func usage(_ value: JSONValue?) -> Usage? {
        guard let value, let prompt = value["prompt_tokens"]?.integer,
            let completion = value["completion_tokens"]?.integer
        else {
            return nil
        }
        let cached = value["prompt_tokens_details"]?["cached_tokens"]?.integer
        return Usage(
            promptTokens: Int(prompt), completionTokens: Int(completion), cachedPromptTokens: cached.map { Int($0) })
    }

    package static func finishReason(_ value: String?) -> FinishReason? {
        switch value {
        case nil: nil
        case "length": .length
        case "tool_calls", "function_call": .toolCalls
        case "content_filter": .contentFilter
        default: .stop
        }
    }

    private static func upstreamContent(_ value: JSONValue?) -> [ContentPart] {
        if let text = value?.string { return text.isEmpty ? [] : [.text(text)] }
        let texts = (value?.array ?? []).compactMap { $0["text"]?.string }
        return texts.isEmpty ? [] : [.text(texts.joined())]
    }

    private static func upstreamToolCalls(_ value: JSONValue?) -> [ToolCall] {
        (value?.array ?? []).map { call in
            ToolCall(
                id: call["id"]?.string ?? ChatIdentifiers.toolCallID(), name: call["function"]?["name"]?.string ?? "",
                arguments: call["function"]?["arguments"]?.string ?? "{}")
        }
    }
}
