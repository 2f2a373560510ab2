import Canonical

/// Encodes canonical chat types as OpenAI JSON: responses and chunks for clients, requests for upstreams.
package enum OpenAIChatEncoding {
    // MARK: - For clients

    package static func response(_ response: ChatResponse) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(response.id), "object": "chat.completion", "created": .integer(Int64(response.created)),
            "model": .string(response.model),
            "choices": .array(
                response.choices.map { choice in
                    [
                        "index": .integer(Int64(choice.index)), "message": assistantMessage(choice.message),
                        "finish_reason": choice.finishReason.map { .string($0.rawValue) } ?? .null, "logprobs": .null,
                    ]
                }),
        ]
        if let usage = response.usage { object["usage"] = self.usage(usage) }
        return .object(object)
    }

    package static func chunk(_ chunk: ChatChunk) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(chunk.id), "object": "chat.completion.chunk", "created": .integer(Int64(chunk.created)),
            "model": .string(chunk.model),
            "choices": .array(
                chunk.choices.map { choice in
                    var delta: [String: JSONValue] = [:]
                    if let role = choice.role { delta["role"] = .string(role.rawValue) }
                    if let text = choice.text { delta["content"] = .string(text) }
                    if !choice.toolCalls.isEmpty {
                        delta["tool_calls"] = .array(
                            choice.toolCalls.map { call in
                                var function: [String: JSONValue] = [:]
                                if let name = call.name { function["name"] = .string(name) }
                                if let arguments = call.arguments { function["arguments"] = .string(arguments) }
                                var item: [String: JSONValue] = [
                                    "index": .integer(Int64(call.index)), "function": .object(function),
                                ]
                                if let id = call.id {
                                    item["id"] = .string(id)
                                    item["type"] = "function"
                                }
                                return .object(item)
                            })
                    }
                    return [
                        "index": .integer(Int64(choice.index)), "delta": .object(delta),
                        "finish_reason": choice.finishReason.map { .string($0.rawValue) } ?? .null, "logprobs": .null,
                    ]
                }),
        ]
        if let usage = chunk.usage { object["usage"] = self.usage(usage) }
        return .object(object)
    }

    package static func usage(_ usage: Usage) -> JSONValue {
        var object: [String: JSONValue] = [
            "prompt_tokens": .integer(Int64(usage.promptTokens)),
            "completion_tokens": .integer(Int64(usage.completionTokens)),
            "total_tokens": .integer(Int64(usage.totalTokens)),
        ]
        if let cached = usage.cachedPromptTokens {
            object["prompt_tokens_details"] = ["cached_tokens": .integer(Int64(cached))]
        }
        return .object(object)
    }

    private static func assistantMessage(_ message: ChatMessage) -> JSONValue {
        var object: [String: JSONValue] = [
            "role": .string(message.role.rawValue), "content": message.content.isEmpty ? .null : .string(message.text),
            "refusal": .null,
        ]
        if !message.toolCalls.isEmpty { object["tool_calls"] = toolCalls(message.toolCalls) }
        return .object(object)
    }

    private static func toolCalls(_ calls: [ToolCall]) -> JSONValue {
        .array(
            calls.map { call in
                [
                    "id": .string(call.id), "type": "function",
                    "function": ["name": .string(call.name), "arguments": .string(call.arguments)],
                ]
            })
    }

    // MARK: - For upstreams

    /// The request for an OpenAI-compatible upstream: canonical fields, then every field the client sent
    /// that the gateway does not model. Streams always ask for usage, which the gateway logs and prices.
    package static func upstreamRequest(_ request: ChatRequest, model: String) throws(UpstreamFailure) -> JSONValue {
        try Translation.check(request, for: .openAI)
        var object = request.origin == .openAI ? request.extra : [:]
        object["model"] = .string(model)
        object["messages"] = .array(request.messages.map(message))
        func set(_ key: String, _ value: JSONValue?) { if let value { object[key] = value } }
        set("temperature", request.temperature.map(JSONValue.number))
        set("top_p", request.topP.map(JSONValue.number))
        set("top_k", request.topK.map { .integer(Int64($0)) })
        if request.extra["max_completion_tokens"] == nil {
            set("max_tokens", request.maxTokens.map { .integer(Int64($0)) })
        }
        set("stop", request.stop.map { .array($0.map(JSONValue.string)) })
        set("seed", request.seed.map(JSONValue.integer))
        set("n", request.n.map { .integer(Int64($0)) })
        set("presence_penalty", request.presencePenalty.map(JSONValue.number))
        set("frequency_penalty", request.frequencyPenalty.map(JSONValue.number))
        set("response_format", request.responseFormat)
        set("tools", request.tools.map { .array($0.map(tool)) })
        set("tool_choice", request.toolChoice.map(toolChoice))
        set("parallel_tool_calls", request.parallelToolCalls.map(JSONValue.bool))
        set("user", request.user.map(JSONValue.string))
        if request.stream {
            object["stream"] = true
            object["stream_options"] = ["include_usage": true]
        }
        return .object(object)
    }

    package static func message(_ message: ChatMessage) -> JSONValue {
        var object = message.extra
        object["role"] = .string(message.role.rawValue)
        if message.content.isEmpty {
            object["content"] = .null
        } else if message.content.count == 1, case .text(let text) = message.content[0] {
            object["content"] = .string(text)
        } else {
            object["content"] = .array(message.content.map(part))
        }
        if let name = message.name { object["name"] = .string(name) }
        if !message.toolCalls.isEmpty { object["tool_calls"] = toolCalls(message.toolCalls) }
        if let id = message.toolCallID { object["tool_call_id"] = .string(id) }
        return .object(object)
    }

    private static func part(_ part: ContentPart) -> JSONValue {
        switch part {
        case .text(let text): return ["type": "text", "text": .string(text)]
        case .image(let image):
            var imageURL: [String: JSONValue] = ["url": .string(image.asURL)]
            if let detail = image.detail { imageURL["detail"] = .string(detail) }
            return ["type": "image_url", "image_url": .object(imageURL)]
        case .other(let raw): return raw
        }
    }

    private static func tool(_ tool: ToolDefinition) -> JSONValue {
        var function: [String: JSONValue] = ["name": .string(tool.name)]
        if let description = tool.description { function["description"] = .string(description) }
        if let parameters = tool.parameters { function["parameters"] = parameters }
        if let strict = tool.strict { function["strict"] = .bool(strict) }
        return ["type": "function", "function": .object(function)]
    }

    private static func toolChoice(_ choice: ToolChoice) -> JSONValue {
        switch choice {
        case .auto: "auto"
        case .none: "none"
        case .required: "required"
        case .function(let name): ["type": "function", "function": ["name": .string(name)]]
        }
    }
}
