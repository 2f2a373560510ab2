/// The canonical JSON form of chat requests and responses, version 1 (`docs/canonical-json.md`): OpenAI's
/// chat completion shape with one spelling per value, so equal values serialise (with sorted keys) to
/// equal bytes. Stored cache entries, exact cache keys and `cache export` use it.
public enum CanonicalJSON {
    /// The form's name and version, carried by every exported line.
    public static let format = "routershift.cache/v1"
}

// MARK: - Requests

extension ChatRequest {
    /// The request in canonical JSON: absent and default fields are left out, a single text part is a
    /// string, inline images are `data:` URLs, unmodelled fields sit under `extra`.
    public var canonicalJSON: JSONValue {
        var object: [String: JSONValue] = [
            "model": .string(model), "messages": .array(messages.map(\.canonicalJSON)),
            "origin": .string(origin.rawValue),
        ]
        object["temperature"] = temperature.map(JSONValue.number)
        object["top_p"] = topP.map(JSONValue.number)
        object["top_k"] = topK.map { .integer(Int64($0)) }
        object["max_tokens"] = maxTokens.map { .integer(Int64($0)) }
        object["stop"] = stop.map { .array($0.map(JSONValue.string)) }
        object["seed"] = seed.map(JSONValue.integer)
        object["n"] = n.map { .integer(Int64($0)) }
        object["presence_penalty"] = presencePenalty.map(JSONValue.number)
        object["frequency_penalty"] = frequencyPenalty.map(JSONValue.number)
        object["response_format"] = responseFormat
        object["tools"] = tools.map { .array($0.map(\.canonicalJSON)) }
        object["tool_choice"] = toolChoice?.canonicalJSON
        object["parallel_tool_calls"] = parallelToolCalls.map(JSONValue.bool)
        object["user"] = user.map(JSONValue.string)
        if stream { object["stream"] = true }
        if includeUsage { object["stream_options"] = ["include_usage": true] }
        if !extra.isEmpty { object["extra"] = .object(extra) }
        if !headers.isEmpty { object["headers"] = .object(headers.mapValues(JSONValue.string)) }
        return .object(object)
    }

    /// Reads a request in canonical JSON.
    ///
    /// - Throws: ``GatewayError`` naming the first field that is missing or of the wrong type.
    public init(canonicalJSON json: JSONValue) throws(GatewayError) {
        let fields = try JSONFields(json)
        guard let messageValues = try fields.array("messages") else {
            throw .invalid("`messages` is required.", param: "messages")
        }
        var messages: [ChatMessage] = []
        for (index, value) in messageValues.enumerated() {
            messages.append(try ChatMessage(canonicalJSON: value, path: "messages[\(index)]"))
        }
        var tools: [ToolDefinition]?
        if let values = try fields.array("tools") {
            tools = []
            for (index, value) in values.enumerated() {
                tools?.append(try ToolDefinition(canonicalJSON: value, path: "tools[\(index)]"))
            }
        }
        let originName = try fields.string("origin") ?? ClientProtocol.openAI.rawValue
        guard let origin = ClientProtocol(rawValue: originName) else {
            throw .invalid(
                "`origin` must be openai, anthropic, gemini or responses, not \(originName).", param: "origin")
        }
        self.init(
            model: try fields.requiredString("model"), messages: messages,
            temperature: try fields.number("temperature"),
            topP: try fields.number("top_p"), topK: try fields.int("top_k"), maxTokens: try fields.int("max_tokens"),
            stop: try fields.strings("stop"), seed: try fields.integer("seed"), n: try fields.int("n"),
            presencePenalty: try fields.number("presence_penalty"),
            frequencyPenalty: try fields.number("frequency_penalty"), responseFormat: fields.value("response_format"),
            tools: tools, toolChoice: try fields.value("tool_choice").map(ToolChoice.init(canonicalJSON:)),
            parallelToolCalls: try fields.bool("parallel_tool_calls"), user: try fields.string("user"),
            stream: try fields.bool("stream") ?? false,
            includeUsage: try fields.fields("stream_options")?.bool("include_usage") ?? false,
            extra: try fields.fields("extra")?.object ?? [:], origin: origin)
        for (name, value) in try fields.fields("headers")?.object ?? [:] {
            guard let text = value.string else {
                throw .invalid("`headers.\(name)` must be a string.", param: "headers.\(name)")
            }
            headers[name] = text
        }
    }
}

// MARK: - Messages

extension ChatMessage {
    /// The message in canonical JSON (OpenAI's message shape; `extra` holds unmodelled fields).
    public var canonicalJSON: JSONValue {
        var object: [String: JSONValue] = ["role": .string(role.rawValue)]
        if content.count == 1, case .text(let text) = content[0] {
            object["content"] = .string(text)
        } else {
            object["content"] = content.isEmpty ? .null : .array(content.map(\.canonicalJSON))
        }
        object["name"] = name.map(JSONValue.string)
        if !toolCalls.isEmpty { object["tool_calls"] = .array(toolCalls.map(\.canonicalJSON)) }
        object["tool_call_id"] = toolCallID.map(JSONValue.string)
        if !extra.isEmpty { object["extra"] = .object(extra) }
        return .object(object)
    }

    package init(canonicalJSON json: JSONValue, path: String) throws(GatewayError) {
        let fields = try JSONFields(json, path: path)
        let roleName = try fields.requiredString("role")
        guard let role = Role(rawValue: roleName) else {
            throw .invalid(
                "`\(fields.name("role"))` must be system, user, assistant or tool, not \(roleName).",
                param: fields.name("role"))
        }
        var content: [ContentPart] = []
        if let text = try? fields.string("content") {
            content = [.text(text)]
        } else if let parts = try fields.array("content") {
            for (index, part) in parts.enumerated() {
                content.append(try ContentPart(canonicalJSON: part, path: fields.name("content[\(index)]")))
            }
        }
        var toolCalls: [ToolCall] = []
        for (index, value) in (try fields.array("tool_calls") ?? []).enumerated() {
            toolCalls.append(try ToolCall(canonicalJSON: value, path: fields.name("tool_calls[\(index)]")))
        }
        self.init(
            role: role, content: content, name: try fields.string("name"), toolCalls: toolCalls,
            toolCallID: try fields.string("tool_call_id"), extra: try fields.fields("extra")?.object ?? [:])
    }
}

extension ContentPart {
    /// `{"type":"text","text":...}`, `{"type":"image_url","image_url":{"url":...,"detail":...}}` (inline
    /// data as a `data:` URL), or an unmodelled part verbatim.
    public var canonicalJSON: JSONValue {
        switch self {
        case .text(let text):
            return ["type": "text", "text": .string(text)]
        case .image(let image):
            var source: [String: JSONValue] = ["url": .string(image.asURL)]
            source["detail"] = image.detail.map(JSONValue.string)
            return ["type": "image_url", "image_url": .object(source)]
        case .other(let value):
            return value
        }
    }

    package init(canonicalJSON json: JSONValue, path: String) throws(GatewayError) {
        let fields = try JSONFields(json, path: path)
        switch try fields.string("type") {
        case "text":
            self = .text(try fields.requiredString("text"))
        case "image_url":
            guard let image = try fields.fields("image_url") else {
                throw .invalid("`\(fields.name("image_url"))` is required.", param: fields.name("image_url"))
            }
            let source = ImageSource(url: try image.requiredString("url"), detail: try image.string("detail"))
            if let inline = source.inlineData {
                self = .image(ImageSource(base64: inline.base64, mediaType: inline.mediaType, detail: source.detail))
            } else {
                self = .image(source)
            }
        default:
            self = .other(json)
        }
    }
}

extension ToolDefinition {
    /// OpenAI's function tool: `{"type":"function","function":{"name",...}}`.
    public var canonicalJSON: JSONValue {
        var function: [String: JSONValue] = ["name": .string(name)]
        function["description"] = description.map(JSONValue.string)
        function["parameters"] = parameters
        function["strict"] = strict.map(JSONValue.bool)
        return ["type": "function", "function": .object(function)]
    }

    package init(canonicalJSON json: JSONValue, path: String) throws(GatewayError) {
        guard let function = try JSONFields(json, path: path).fields("function") else {
            throw .invalid("`\(path).function` is required.", param: "\(path).function")
        }
        self.init(
            name: try function.requiredString("name"), description: try function.string("description"),
            parameters: function.value("parameters"), strict: try function.bool("strict"))
    }
}

extension ToolCall {
    /// OpenAI's tool call: `{"id","type":"function","function":{"name","arguments"}}`.
    public var canonicalJSON: JSONValue {
        ["id": .string(id), "type": "function", "function": ["name": .string(name), "arguments": .string(arguments)]]
    }

    package init(canonicalJSON json: JSONValue, path: String) throws(GatewayError) {
        let fields = try JSONFields(json, path: path)
        guard let function = try fields.fields("function") else {
            throw .invalid("`\(path).function` is required.", param: "\(path).function")
        }
        self.init(
            id: try fields.requiredString("id"), name: try function.requiredString("name"),
            arguments: try function.string("arguments") ?? "")
    }
}

extension ToolChoice {
    /// `"auto"`, `"none"`, `"required"` or `{"type":"function","function":{"name":...}}`.
    public var canonicalJSON: JSONValue {
        switch self {
        case .auto: "auto"
        case .none: "none"
        case .required: "required"
        case .function(let name): ["type": "function", "function": ["name": .string(name)]]
        }
    }

    package init(canonicalJSON json: JSONValue) throws(GatewayError) {
        switch json.string {
        case "auto": self = .auto
        case "none": self = .none
        case "required": self = .required
        default:
            guard let name = json["function"]?["name"]?.string else {
                throw .invalid("`tool_choice` must be auto, none, required or a function.", param: "tool_choice")
            }
            self = .function(name)
        }
    }
}
