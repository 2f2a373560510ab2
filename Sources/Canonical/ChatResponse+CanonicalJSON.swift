// MARK: - Responses

extension ChatResponse {
    /// The response in canonical JSON: an OpenAI chat completion (`"object": "chat.completion"`).
    public var canonicalJSON: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "chat.completion", "model": .string(model),
            "created": .integer(Int64(created)),
            "choices": .array(
                choices.map { choice in
                    [
                        "index": .integer(Int64(choice.index)), "message": choice.message.canonicalJSON,
                        "finish_reason": choice.finishReason.map { .string($0.rawValue) } ?? .null,
                    ]
                }),
        ]
        object["usage"] = usage?.canonicalJSON
        return .object(object)
    }

    /// Reads a response in canonical JSON.
    ///
    /// - Throws: ``GatewayError`` naming the first field that is missing or of the wrong type.
    public init(canonicalJSON json: JSONValue) throws(GatewayError) {
        let fields = try JSONFields(json)
        var choices: [ChatChoice] = []
        for (index, value) in (try fields.array("choices") ?? []).enumerated() {
            let choice = try JSONFields(value, path: "choices[\(index)]")
            guard let message = choice.value("message") else {
                throw .invalid("`\(choice.name("message"))` is required.", param: choice.name("message"))
            }
            let reason = try choice.string("finish_reason")
            guard reason == nil || FinishReason(rawValue: reason!) != nil else {
                throw .invalid(
                    "`\(choice.name("finish_reason"))` must be stop, length, tool_calls or content_filter.",
                    param: choice.name("finish_reason"))
            }
            choices.append(
                ChatChoice(
                    index: try choice.int("index") ?? index,
                    message: try ChatMessage(canonicalJSON: message, path: choice.name("message")),
                    finishReason: reason.flatMap(FinishReason.init(rawValue:))))
        }
        self.init(
            id: try fields.requiredString("id"), model: try fields.requiredString("model"),
            created: try fields.int("created") ?? 0, choices: choices,
            usage: try fields.fields("usage").map(Usage.init(canonicalJSON:)))
    }
}

extension Usage {
    /// OpenAI's usage object, with `prompt_tokens_details.cached_tokens` when known.
    public var canonicalJSON: JSONValue {
        var object: [String: JSONValue] = [
            "prompt_tokens": .integer(Int64(promptTokens)), "completion_tokens": .integer(Int64(completionTokens)),
            "total_tokens": .integer(Int64(totalTokens)),
        ]
        if let cachedPromptTokens {
            object["prompt_tokens_details"] = ["cached_tokens": .integer(Int64(cachedPromptTokens))]
        }
        return .object(object)
    }

    package init(canonicalJSON fields: JSONFields) throws(GatewayError) {
        self.init(
            promptTokens: try fields.int("prompt_tokens") ?? 0,
            completionTokens: try fields.int("completion_tokens") ?? 0,
            cachedPromptTokens: try fields.fields("prompt_tokens_details")?.int("cached_tokens"))
    }
}
