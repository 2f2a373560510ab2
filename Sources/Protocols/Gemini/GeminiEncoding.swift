import Canonical

/// Encodes canonical chat types as Gemini JSON: responses and stream chunks for clients, requests for
/// upstreams.
package enum GeminiEncoding {
    // MARK: - For clients

    package static func response(_ response: ChatResponse) -> JSONValue {
        var object: [String: JSONValue] = [
            "candidates": .array(
                response.choices.map { choice in
                    var parts: [JSONValue] = []
                    let text = choice.message.text
                    if !text.isEmpty { parts.append(["text": .string(text)]) }
                    for call in choice.message.toolCalls {
                        parts.append([
                            "functionCall": [
                                "name": .string(call.name), "args": AnthropicEncoding.arguments(call.arguments),
                            ]
                        ])
                    }
                    if parts.isEmpty { parts.append(["text": ""]) }
                    return [
                        "content": ["role": "model", "parts": .array(parts)],
                        "finishReason": .string(finishReason(choice.finishReason)),
                        "index": .integer(Int64(choice.index)),
                    ]
                }),
            "modelVersion": .string(response.model), "responseId": .string(response.id),
        ]
        if let usage = response.usage { object["usageMetadata"] = self.usage(usage) }
        return .object(object)
    }

    package static func usage(_ usage: Usage) -> JSONValue {
        var object: [String: JSONValue] = [
            "promptTokenCount": .integer(Int64(usage.promptTokens)),
            "candidatesTokenCount": .integer(Int64(usage.completionTokens)),
            "totalTokenCount": .integer(Int64(usage.totalTokens)),
        ]
        if let cached = usage.cachedPromptTokens { object["cachedContentTokenCount"] = .integer(Int64(cached)) }
        return .object(object)
    }

    package static func finishReason(_ reason: FinishReason?) -> String {
        switch reason {
        case .length: "MAX_TOKENS"
        case .contentFilter: "SAFETY"
        case .stop, .toolCalls, nil: "STOP"
        }
    }

    // MARK: - For upstreams

    package static func upstreamRequest(_ request: ChatRequest) throws(UpstreamFailure) -> JSONValue {
        try Translation.check(request, for: .gemini)
        var object = request.origin == .gemini ? request.extra : [:]
        let system = request.messages.filter { $0.role == .system }.map(\.text).joined(separator: "\n\n")
        if !system.isEmpty { object["systemInstruction"] = ["parts": [["text": .string(system)]]] }
        object["contents"] = .array(try contents(request.messages.filter { $0.role != .system }))
        var config: [String: JSONValue] = [:]
        if let value = request.temperature { config["temperature"] = .number(value) }
        if let value = request.topP { config["topP"] = .number(value) }
        if let value = request.topK { config["topK"] = .integer(Int64(value)) }
        if let value = request.maxTokens { config["maxOutputTokens"] = .integer(Int64(value)) }
        if let value = request.stop { config["stopSequences"] = .array(value.map(JSONValue.string)) }
        if let value = request.n { config["candidateCount"] = .integer(Int64(value)) }
        if let value = request.seed { config["seed"] = .integer(value) }
        if let value = request.presencePenalty { config["presencePenalty"] = .number(value) }
        if let value = request.frequencyPenalty { config["frequencyPenalty"] = .number(value) }
        switch request.responseFormat?["type"]?.string {
        case "json_object":
            config["responseMimeType"] = "application/json"
        case "json_schema":
            config["responseMimeType"] = "application/json"
            if let schema = request.responseFormat?["json_schema"]?["schema"] {
                config["responseSchema"] = GeminiSchema.gemini(fromJSONSchema: schema)
            }
        case "text", nil:
            break
        default:
            throw .unsupported(
                "`response_format` \(request.responseFormat?.jsonString ?? "") is not supported by a Gemini deployment.",
                param: "response_format.type")
        }
        if !config.isEmpty { object["generationConfig"] = .object(config) }
        if let tools = request.tools, !tools.isEmpty {
            let declarations: JSONValue = [
                "functionDeclarations": .array(
                    tools.map { tool in
                        var json: [String: JSONValue] = ["name": .string(tool.name)]
                        if let description = tool.description { json["description"] = .string(description) }
                        if let parameters = tool.parameters {
                            json["parameters"] = GeminiSchema.gemini(fromJSONSchema: parameters)
                        }
                        return .object(json)
                    })
            ]
            // A Gemini client's own tools (googleSearch, ...) arrive in `extra["tools"]`, beside the functions.
            object["tools"] = .array([declarations] + (object["tools"]?.array ?? []))
        }
        if let choice = request.toolChoice {
            let mode: JSONValue
            switch choice {
            case .auto: mode = ["mode": "AUTO"]
            case .none: mode = ["mode": "NONE"]
            case .required: mode = ["mode": "ANY"]
            case .function(let name): mode = ["mode": "ANY", "allowedFunctionNames": [.string(name)]]
            }
            object["toolConfig"] = ["functionCallingConfig": mode]
        }
        return .object(object)
    }

    /// Canonical turns as Gemini contents; a tool result names its function, found from the call it answers.
    private static func contents(_ turns: [ChatMessage]) throws(UpstreamFailure) -> [JSONValue] {
        var names: [String: String] = [:]
        var result: [(role: String, parts: [JSONValue])] = []
        func append(_ role: String, _ parts: [JSONValue]) {
            guard !parts.isEmpty else { return }
            if result.last?.role == role {
                result[result.count - 1].parts += parts
            } else {
                result.append((role, parts))
            }
        }
        for turn in turns {
            var parts: [JSONValue] = []
            switch turn.role {
            case .tool:
                let name = turn.name ?? turn.toolCallID.flatMap { names[$0] } ?? "function"
                let text = turn.text
                let payload =
                    (try? JSONValue.parse(Array(text.utf8))).flatMap { $0.object != nil ? $0 : nil } ?? [
                        "content": .string(text)
                    ]
                parts.append(["functionResponse": ["name": .string(name), "response": payload]])
                append("user", parts)
            case .assistant:
                for part in turn.content { parts.append(try self.part(part)) }
                for call in turn.toolCalls {
                    names[call.id] = call.name
                    parts.append([
                        "functionCall": [
                            "name": .string(call.name), "args": AnthropicEncoding.arguments(call.arguments),
                        ]
                    ])
                }
                append("model", parts)
            case .user, .system:
                for part in turn.content { parts.append(try self.part(part)) }
                append("user", parts)
            }
        }
        return result.map { ["role": .string($0.role), "parts": .array($0.parts)] }
    }

    private static func part(_ part: ContentPart) throws(UpstreamFailure) -> JSONValue {
        switch part {
        case .text(let text):
            return ["text": .string(text)]
        case .image(let image):
            if let inline = image.inlineData {
                return ["inlineData": ["mimeType": .string(inline.mediaType), "data": .string(inline.base64)]]
            }
            if let url = image.url, url.hasPrefix("gs://") || url.contains("generativelanguage.googleapis.com") {
                return ["fileData": ["mimeType": .string(image.mediaType ?? "image/jpeg"), "fileUri": .string(url)]]
            }
            throw .unsupported(
                "A Gemini deployment cannot fetch images by URL; send the image as base64 data.", param: "image_url")
        case .other(let raw):
            return raw
        }
    }
}

/// Gemini's stream for clients: one event per canonical chunk with text, function calls whole once their
/// arguments are complete, the finish reason and usage at the end. With `alt=sse` (what the SDKs ask for)
/// each is a server-sent event; without, the responses are the elements of one JSON array written as they
/// come (`[{...}\r\n,{...}]`, `application/json`), as Gemini answers.
package struct GeminiEventEncoder: ChatEventEncoder {
    /// Whether the stream is a JSON array rather than server-sent events.
    package let isJSONArray: Bool
    private var written = 0

    package init(isJSONArray: Bool = false) {
        self.isJSONArray = isJSONArray
    }

    package var contentType: String { isJSONArray ? "application/json" : "text/event-stream" }

    /// One response of the stream, framed as an event or as the next array element.
    private mutating func frame(_ json: JSONValue) -> String {
        guard isJSONArray else { return Self.event(json) }
        defer { written += 1 }
        return (written == 0 ? "[" : "\r\n,") + String(decoding: json.serialized(), as: UTF8.self)
    }

    /// The array's end, once every element has been written.
    private func close() -> [String] {
        guard isJSONArray else { return [] }
        return [written == 0 ? "[]" : "]"]
    }

    private var calls: [Int: (name: String, arguments: String)] = [:]
    private var id = ""
    private var model = ""
    private var finishReason: FinishReason?
    private var usage: Usage?

    private mutating func event(parts: [JSONValue], finishReason: String? = nil, usage: Usage? = nil) -> String {
        var candidate: [String: JSONValue] = ["content": ["role": "model", "parts": .array(parts)], "index": 0]
        if let finishReason { candidate["finishReason"] = .string(finishReason) }
        var object: [String: JSONValue] = [
            "candidates": [.object(candidate)], "modelVersion": .string(model), "responseId": .string(id),
        ]
        if let usage { object["usageMetadata"] = GeminiEncoding.usage(usage) }
        return frame(.object(object))
    }

    package mutating func encode(_ chunk: ChatChunk) -> [String] {
        if id.isEmpty {
            id = chunk.id
            model = chunk.model
        }
        if let usage = chunk.usage { self.usage = usage }
        var events: [String] = []
        for choice in chunk.choices where choice.index == 0 {
            if let text = choice.text, !text.isEmpty { events.append(event(parts: [["text": .string(text)]])) }
            for delta in choice.toolCalls {
                var call = calls[delta.index] ?? (name: "", arguments: "")
                if let name = delta.name { call.name += name }
                if let arguments = delta.arguments { call.arguments += arguments }
                calls[delta.index] = call
            }
            if let reason = choice.finishReason { finishReason = reason }
        }
        return events
    }

    package mutating func finish() -> [String] {
        let parts: [JSONValue] = calls.keys.sorted().map { index in
            let call = calls[index]!
            return ["functionCall": ["name": .string(call.name), "args": AnthropicEncoding.arguments(call.arguments)]]
        }
        return [
            event(
                parts: parts.isEmpty ? [["text": ""]] : parts, finishReason: GeminiEncoding.finishReason(finishReason),
                usage: usage)
        ] + close()
    }

    package mutating func fail(_ error: GatewayError) -> [String] {
        [frame(error.body(for: .gemini))] + close()
    }
}
