import Canonical

/// Decodes `POST /v1/responses` bodies into canonical form: `instructions` becomes the leading system
/// message (so the cache keys it as a chat system prompt), `input` items become messages, `text.format`
/// becomes `response_format`. Fields that do not change the answer are accepted and left out of the
/// canonical request; a field the gateway cannot honour is a 400 naming it.
package enum ResponsesDecoding {
    /// Fields accepted without effect on the answer (the official SDKs and `openai-agents` send several
    /// of them by default); the response object repeats those it has.
    static let answerNeutralFields: Set<String> = [
        "store", "metadata", "include", "truncation", "user", "prompt_cache_key", "prompt_cache_retention",
        "service_tier", "safety_identifier", "stream_options", "background", "reasoning",
    ]

    static let modelledFields: Set<String> = [
        "model", "input", "instructions", "tools", "tool_choice", "text", "max_output_tokens", "temperature", "top_p",
        "parallel_tool_calls", "stream", "previous_response_id",
    ]

    /// A client's request body, validated; every problem is a 400 naming the parameter.
    package static func request(_ body: JSONValue) throws(GatewayError) -> ResponsesRequest {
        let fields = try JSONFields(body)
        for (key, value) in fields.remaining(excluding: modelledFields.union(answerNeutralFields)) where !value.isNull {
            throw .invalid(
                "`\(key)` is not supported by this gateway's Responses API; remove it.", param: key)
        }
        if try fields.bool("background") == true {
            throw .invalid("Background responses are not supported; drop `background`.", param: "background")
        }
        if let effort = try fields.fields("reasoning")?.value("effort") {
            throw .invalid(
                "`reasoning.effort` (\(effort.jsonString)) has no equivalent when the request is translated to chat; "
                    + "remove it.", param: "reasoning.effort")
        }
        var messages: [ChatMessage] = []
        let instructions = try fields.string("instructions")
        if let instructions { messages.append(ChatMessage(role: .system, text: instructions)) }
        messages += try input(fields)
        guard messages.count > (instructions == nil ? 0 : 1) || fields.value("previous_response_id") != nil else {
            throw .invalid("`input` must be a non-empty string or array of items.", param: "input")
        }
        let text = try fields.fields("text")
        let stream = try fields.bool("stream") ?? false
        let ranges = ClientProtocol.responses.parameterRanges
        let chat = ChatRequest(
            model: try fields.requiredString("model"), messages: messages,
            temperature: try fields.number("temperature", in: ranges.temperature),
            topP: try fields.number("top_p", in: ranges.topP),
            maxTokens: try fields.int("max_output_tokens", atLeast: 1), responseFormat: try responseFormat(text),
            tools: try tools(fields), toolChoice: try toolChoice(fields),
            parallelToolCalls: try fields.bool("parallel_tool_calls"), user: try fields.string("user"), stream: stream,
            includeUsage: stream, origin: .responses)
        return ResponsesRequest(
            chat: chat, hasInstructions: instructions != nil,
            previousResponseID: try fields.string("previous_response_id"), store: try fields.bool("store") ?? true,
            echo: echo(fields.object))
    }

    // MARK: - Input

    private static func input(_ fields: JSONFields) throws(GatewayError) -> [ChatMessage] {
        guard let value = fields.value("input") else { return [] }
        if let text = value.string { return [ChatMessage(role: .user, text: text)] }
        guard let items = value.array else { throw fields.mismatch("input", "a string or an array of items") }
        var messages: [ChatMessage] = []
        for (index, item) in items.enumerated() {
            let path = "input[\(index)]"
            let item = try JSONFields(item, path: path)
            switch try item.string("type") ?? "message" {
            case "message":
                messages.append(try message(item))
            case "function_call":
                let call = ToolCall(
                    id: try item.requiredString("call_id"), name: try item.requiredString("name"),
                    arguments: try item.string("arguments") ?? "{}")
                // Calls made in one turn are one assistant message in chat form, after its text if any.
                if let last = messages.last, last.role == .assistant {
                    messages[messages.count - 1].toolCalls.append(call)
                } else {
                    messages.append(ChatMessage(role: .assistant, content: [], toolCalls: [call]))
                }
            case "function_call_output":
                let callID = try item.requiredString("call_id")
                let output: [ContentPart]
                if let text = item.value("output")?.string {
                    output = [.text(text)]
                } else if let parts = try item.array("output") {
                    output = try contentParts(parts, path: item.name("output"))
                } else {
                    throw .invalid("`\(item.name("output"))` is required.", param: item.name("output"))
                }
                messages.append(ChatMessage(role: .tool, content: output, toolCallID: callID))
            case let type:
                throw .invalid(
                    "Input items of type `\(type)` are not supported by this gateway; send messages, function_call "
                        + "and function_call_output items.", param: item.name("type"))
            }
        }
        return messages
    }

    private static func message(_ item: JSONFields) throws(GatewayError) -> ChatMessage {
        let roleName = try item.requiredString("role")
        let role: ChatMessage.Role
        switch roleName {
        case "user": role = .user
        case "system", "developer": role = .system
        case "assistant": role = .assistant
        default:
            throw .invalid(
                "`\(item.name("role"))` must be user, system, developer or assistant, not \(roleName).",
                param: item.name("role"))
        }
        guard let content = item.value("content") else {
            throw .invalid("`\(item.name("content"))` is required.", param: item.name("content"))
        }
        if let text = content.string { return ChatMessage(role: role, text: text) }
        guard let parts = content.array else {
            throw item.mismatch("content", "a string or an array of content parts")
        }
        return ChatMessage(role: role, content: try contentParts(parts, path: item.name("content")))
    }

    private static func contentParts(_ parts: [JSONValue], path: String) throws(GatewayError) -> [ContentPart] {
        var result: [ContentPart] = []
        for (index, part) in parts.enumerated() {
            let part = try JSONFields(part, path: "\(path)[\(index)]")
            switch try part.requiredString("type") {
            case "input_text", "output_text":
                result.append(.text(try part.requiredString("text")))
            case "refusal":
                result.append(.text(try part.requiredString("refusal")))
            case "input_image":
                guard let url = try part.string("image_url") else {
                    throw .invalid(
                        "`\(part.name("image_url"))` is required: this gateway does not keep files, so images go by URL "
                            + "or as a data: URL.", param: part.name("image_url"))
                }
                let detail = try part.string("detail")
                let source = ImageSource(url: url, detail: detail)
                if let inline = source.inlineData {
                    result.append(
                        .image(ImageSource(base64: inline.base64, mediaType: inline.mediaType, detail: detail)))
                } else {
                    result.append(.image(source))
                }
            default:
                result.append(.other(.object(part.object)))
            }
        }
        return result
    }

    // MARK: - Parameters

    private static func tools(_ fields: JSONFields) throws(GatewayError) -> [ToolDefinition]? {
        guard let values = try fields.array("tools"), !values.isEmpty else { return nil }
        var tools: [ToolDefinition] = []
        for (index, value) in values.enumerated() {
            let tool = try JSONFields(value, path: "tools[\(index)]")
            let type = try tool.requiredString("type")
            guard type == "function" else {
                throw .invalid(
                    "`tools[\(index)].type` `\(type)` is not supported: this gateway serves function tools only (a "
                        + "hosted tool cannot run on a translated deployment).", param: "tools[\(index)].type")
            }
            tools.append(try ToolDefinition(function: tool))
        }
        return tools
    }

    private static func toolChoice(_ fields: JSONFields) throws(GatewayError) -> ToolChoice? {
        try ToolChoice.openAI(fields, objectForm: #"{"type": "function", "name": ...}"#) {
            choice throws(GatewayError) in
            try choice.string("type") == "function" ? try choice.requiredString("name") : nil
        }
    }

    /// `text.format` as chat's `response_format`; plain text is the default and needs none.
    private static func responseFormat(_ text: JSONFields?) throws(GatewayError) -> JSONValue? {
        guard let text else { return nil }
        if let verbosity = text.value("verbosity"), verbosity != "medium" {
            throw .invalid(
                "`text.verbosity` has no equivalent when the request is translated to chat; remove it.",
                param: "text.verbosity")
        }
        guard let format = try text.fields("format") else { return nil }
        switch try format.requiredString("type") {
        case "text":
            return nil
        case "json_object":
            return ["type": "json_object"]
        case "json_schema":
            var schema: [String: JSONValue] = ["name": .string(try format.requiredString("name"))]
            guard let body = format.value("schema") else {
                throw .invalid("`text.format.schema` is required.", param: "text.format.schema")
            }
            schema["schema"] = body
            if let description = try format.string("description") { schema["description"] = .string(description) }
            if let strict = try format.bool("strict") { schema["strict"] = .bool(strict) }
            return ["type": "json_schema", "json_schema": .object(schema)]
        case let type:
            throw .invalid(
                "`text.format.type` must be text, json_object or json_schema, not \(type).", param: "text.format.type")
        }
    }

    /// The parameters a response object repeats, with OpenAI's defaults for those not sent.
    package static func echo(_ body: [String: JSONValue]) -> [String: JSONValue] {
        func sent(_ key: String, default value: JSONValue) -> JSONValue {
            guard let sent = body[key], !sent.isNull else { return value }
            return sent
        }
        return [
            "instructions": sent("instructions", default: .null),
            "metadata": sent("metadata", default: [:]),
            "tools": sent("tools", default: []),
            "tool_choice": sent("tool_choice", default: "auto"),
            "text": sent("text", default: ["format": ["type": "text"]]),
            "temperature": sent("temperature", default: 1.0),
            "top_p": sent("top_p", default: 1.0),
            "max_output_tokens": sent("max_output_tokens", default: .null),
            "parallel_tool_calls": sent("parallel_tool_calls", default: true),
            "truncation": sent("truncation", default: "disabled"),
            "previous_response_id": sent("previous_response_id", default: .null),
            "store": sent("store", default: true),
            "user": sent("user", default: .null),
            "reasoning": ["effort": .null, "summary": .null],
            "background": false,
            "service_tier": sent("service_tier", default: "default"),
            "prompt_cache_key": sent("prompt_cache_key", default: .null),
            "safety_identifier": sent("safety_identifier", default: .null),
        ]
    }
}
