/// Reads cache entries written before the canonical JSON form (`routershift.cache/v1`): Swift's synthesised
/// `Codable` encoding of the canonical types, with camel-case keys and enums as `{"text":{"_0":...}}`.
/// Only the migration of old databases and the import of old exports use it.
enum LegacyCacheForm {
    static func request(_ json: JSONValue) -> ChatRequest? {
        guard let model = json["model"]?.string, let messageValues = json["messages"]?.array else { return nil }
        var messages: [ChatMessage] = []
        for value in messageValues {
            guard let message = message(value) else { return nil }
            messages.append(message)
        }
        var tools: [ToolDefinition]?
        if let values = json["tools"]?.array {
            tools = []
            for value in values {
                guard let name = value["name"]?.string else { return nil }
                tools?.append(
                    ToolDefinition(
                        name: name, description: value["description"]?.string, parameters: value["parameters"],
                        strict: value["strict"]?.bool))
            }
        }
        var toolChoice: ToolChoice?
        if let choice = json["toolChoice"]?.object {
            if choice["auto"] != nil {
                toolChoice = .auto
            } else if choice["none"] != nil {
                toolChoice = ToolChoice.none
            } else if choice["required"] != nil {
                toolChoice = .required
            } else if let name = choice["function"]?["_0"]?.string {
                toolChoice = .function(name)
            } else {
                return nil
            }
        }
        return ChatRequest(
            model: model, messages: messages, temperature: json["temperature"]?.number, topP: json["topP"]?.number,
            topK: json["topK"]?.integer.map(Int.init), maxTokens: json["maxTokens"]?.integer.map(Int.init),
            stop: json["stop"]?.array?.compactMap(\.string), seed: json["seed"]?.integer,
            n: json["n"]?.integer.map(Int.init), presencePenalty: json["presencePenalty"]?.number,
            frequencyPenalty: json["frequencyPenalty"]?.number, responseFormat: json["responseFormat"], tools: tools,
            toolChoice: toolChoice, parallelToolCalls: json["parallelToolCalls"]?.bool, user: json["user"]?.string,
            stream: json["stream"]?.bool ?? false, includeUsage: json["includeUsage"]?.bool ?? false,
            extra: json["extra"]?.object ?? [:],
            origin: json["origin"]?.string.flatMap(ClientProtocol.init(rawValue:)) ?? .openAI)
    }

    static func response(_ json: JSONValue) -> ChatResponse? {
        guard let id = json["id"]?.string, let model = json["model"]?.string, let values = json["choices"]?.array
        else { return nil }
        var choices: [ChatChoice] = []
        for value in values {
            guard let messageValue = value["message"], let message = message(messageValue) else { return nil }
            choices.append(
                ChatChoice(
                    index: Int(value["index"]?.integer ?? Int64(choices.count)), message: message,
                    finishReason: value["finishReason"]?.string.flatMap(FinishReason.init(rawValue:))))
        }
        let usage = json["usage"].map { usage in
            Usage(
                promptTokens: Int(usage["promptTokens"]?.integer ?? 0),
                completionTokens: Int(usage["completionTokens"]?.integer ?? 0),
                cachedPromptTokens: usage["cachedPromptTokens"]?.integer.map(Int.init))
        }
        return ChatResponse(
            id: id, model: model, created: Int(json["created"]?.integer ?? 0), choices: choices, usage: usage)
    }

    private static func message(_ json: JSONValue) -> ChatMessage? {
        guard let role = json["role"]?.string.flatMap(ChatMessage.Role.init(rawValue:)) else { return nil }
        var content: [ContentPart] = []
        for part in json["content"]?.array ?? [] {
            if let text = part["text"]?["_0"]?.string {
                content.append(.text(text))
            } else if let image = part["image"]?["_0"] {
                content.append(
                    .image(
                        ImageSource(
                            url: image["url"]?.string, base64: image["base64"]?.string,
                            mediaType: image["mediaType"]?.string, detail: image["detail"]?.string)))
            } else if let other = part["other"]?["_0"] {
                content.append(.other(other))
            } else {
                return nil
            }
        }
        var toolCalls: [ToolCall] = []
        for call in json["toolCalls"]?.array ?? [] {
            guard let id = call["id"]?.string, let name = call["name"]?.string else { return nil }
            toolCalls.append(ToolCall(id: id, name: name, arguments: call["arguments"]?.string ?? ""))
        }
        return ChatMessage(
            role: role, content: content, name: json["name"]?.string, toolCalls: toolCalls,
            toolCallID: json["toolCallID"]?.string, extra: json["extra"]?.object ?? [:])
    }
}
