import Canonical

/// Decodes Gemini `generateContent` requests (from clients) and responses and stream chunks (from
/// upstreams) into canonical form.
package enum GeminiDecoding {
    package static let modelledRequestFields: Set<String> = [
        "contents", "systemInstruction", "system_instruction", "generationConfig", "generation_config", "tools",
        "toolConfig",
        "tool_config", "model",
    ]

    // MARK: - Requests

    package static func request(_ body: JSONValue, model: String, stream: Bool) throws(GatewayError) -> ChatRequest {
        let fields = try JSONFields(body)
        guard let contents = try fields.array("contents"), !contents.isEmpty else {
            throw .invalid("`contents` must be a non-empty array.", param: "contents")
        }
        var messages: [ChatMessage] = []
        if let system = try fields.fields(anyOf: "systemInstruction", "system_instruction") {
            let texts = (try system.array("parts") ?? []).compactMap { $0["text"]?.string }
            if !texts.isEmpty { messages.append(ChatMessage(role: .system, content: texts.map(ContentPart.text))) }
        }
        var callIDs: [String: [String]] = [:]
        var callCount = 0
        for (index, value) in contents.enumerated() {
            let content = try JSONFields(value, path: "contents[\(index)]")
            let role = try content.string("role") ?? "user"
            guard ["user", "model", "function"].contains(role) else {
                throw .invalid("`contents[\(index)].role` must be user or model.", param: "contents[\(index)].role")
            }
            guard let parts = try content.array("parts"), !parts.isEmpty else {
                throw .invalid(
                    "`contents[\(index)].parts` must be a non-empty array.", param: "contents[\(index)].parts")
            }
            var message = ChatMessage(role: role == "model" ? .assistant : .user, content: [])
            var responses: [ChatMessage] = []
            for (offset, partValue) in parts.enumerated() {
                let part = try JSONFields(partValue, path: "contents[\(index)].parts[\(offset)]")
                if let text = try part.string("text") {
                    message.content.append(.text(text))
                } else if let inline = try part.fields(anyOf: "inlineData", "inline_data") {
                    guard let mime = try inline.string(anyOf: "mimeType", "mime_type") else {
                        throw .invalid("`\(inline.path).mimeType` is required.", param: inline.path)
                    }
                    guard mime.hasPrefix("image/") else { message.content.append(.other(partValue)); continue }
                    message.content.append(
                        .image(ImageSource(base64: try inline.requiredString("data"), mediaType: mime)))
                } else if let file = try part.fields(anyOf: "fileData", "file_data") {
                    guard let uri = try file.string(anyOf: "fileUri", "file_uri") else {
                        throw .invalid("`\(file.path).fileUri` is required.", param: file.path)
                    }
                    message.content.append(.image(ImageSource(url: uri, mediaType: try file.string("mimeType"))))
                } else if let call = try part.fields(anyOf: "functionCall", "function_call") {
                    let name = try call.requiredString("name")
                    callCount += 1
                    let id = try call.string("id") ?? "call_\(callCount)_\(name)"
                    callIDs[name, default: []].append(id)
                    message.toolCalls.append(
                        ToolCall(id: id, name: name, arguments: (call.value("args") ?? [:]).jsonString))
                } else if let response = try part.fields(anyOf: "functionResponse", "function_response") {
                    let name = try response.requiredString("name")
                    let id = try response.string("id") ?? callIDs[name]?.first ?? "call_\(name)"
                    if let first = callIDs[name]?.first, first == id { callIDs[name]?.removeFirst() }
                    let payload = response.value("response") ?? [:]
                    let text = payload["content"]?.string ?? payload["result"]?.string ?? payload.jsonString
                    var result = ChatMessage(role: .tool, content: [.text(text)], toolCallID: id)
                    result.name = name
                    responses.append(result)
                } else {
                    message.content.append(.other(partValue))
                }
            }
            messages += responses
            if !message.content.isEmpty || !message.toolCalls.isEmpty { messages.append(message) }
        }
        let config = try fields.fields(anyOf: "generationConfig", "generation_config")
        var responseFormat: JSONValue?
        if let schema = config?.value("responseJsonSchema") ?? config?.value("response_json_schema") {
            responseFormat = ["type": "json_schema", "json_schema": ["name": "response", "schema": schema]]
        } else if let schema = config?.value("responseSchema") ?? config?.value("response_schema") {
            let converted = GeminiSchema.jsonSchema(fromGemini: schema)
            responseFormat = ["type": "json_schema", "json_schema": ["name": "response", "schema": converted]]
        } else if try config?.string(anyOf: "responseMimeType", "response_mime_type") == "application/json" {
            responseFormat = ["type": "json_object"]
        }
        var extra = fields.remaining(excluding: modelledRequestFields)
        let (functions, builtins) = try tools(fields) ?? ([], [])
        if !builtins.isEmpty { extra["tools"] = .array(builtins) }
        let ranges = ClientProtocol.gemini.parameterRanges
        return ChatRequest(
            model: model, messages: messages, temperature: try config?.number("temperature", in: ranges.temperature),
            topP: try config?.number("topP", in: ranges.topP), topK: try config?.int("topK", atLeast: 1),
            maxTokens: try config?.int("maxOutputTokens", atLeast: 1), stop: try config?.strings("stopSequences"),
            seed: try config?.integer("seed"), n: try config?.int("candidateCount", in: ranges.choices),
            presencePenalty: try config?.number("presencePenalty", in: ranges.penalty),
            frequencyPenalty: try config?.number("frequencyPenalty", in: ranges.penalty),
            responseFormat: responseFormat,
            tools: functions.isEmpty ? nil : functions,
            toolChoice: try toolChoice(fields), stream: stream, includeUsage: true, extra: extra, origin: .gemini)
    }

    /// Function declarations as canonical tools (their Gemini schemas as JSON Schema), and Gemini's own
    /// tools (`googleSearch`, `codeExecution`, ...), which only a Gemini upstream can run, kept verbatim.
    private static func tools(_ fields: JSONFields) throws(GatewayError) -> (
        functions: [ToolDefinition], builtins: [JSONValue]
    )? {
        guard let values = try fields.array("tools") else { return nil }
        var tools: [ToolDefinition] = []
        var builtins: [JSONValue] = []
        for (index, value) in values.enumerated() {
            let tool = try JSONFields(value, path: "tools[\(index)]")
            guard let declarations = try tool.array(anyOf: "functionDeclarations", "function_declarations") else {
                builtins.append(value)
                continue
            }
            for (offset, declaration) in declarations.enumerated() {
                let function = try JSONFields(declaration, path: "tools[\(index)].functionDeclarations[\(offset)]")
                let parameters =
                    function.value("parametersJsonSchema")
                    ?? function.value("parameters").map(GeminiSchema.jsonSchema(fromGemini:))
                tools.append(
                    ToolDefinition(
                        name: try function.requiredString("name"), description: try function.string("description"),
                        parameters: parameters))
            }
        }
        return (tools, builtins)
    }

    private static func toolChoice(_ fields: JSONFields) throws(GatewayError) -> ToolChoice? {
        guard
            let config = try fields.fields(anyOf: "toolConfig", "tool_config")?.fields(
                anyOf: "functionCallingConfig", "function_calling_config")
        else {
            return nil
        }
        switch try config.string("mode") {
        case "AUTO", nil: return .auto
        case "NONE": return ToolChoice.none
        case "ANY":
            let allowed = try config.strings("allowedFunctionNames") ?? []
            return allowed.count == 1 ? .function(allowed[0]) : .required
        default:
            throw .invalid("`toolConfig.functionCallingConfig.mode` must be AUTO, ANY or NONE.", param: "toolConfig")
        }
    }

    // MARK: - Upstream answers

    package static func response(_ body: JSONValue, publicModel: String) throws(UpstreamFailure) -> ChatResponse {
        guard let candidates = body["candidates"]?.array else {
            if let reason = body["promptFeedback"]?["blockReason"]?.string {
                return ChatResponse(
                    id: body["responseId"]?.string ?? ChatIdentifiers.completionID(), model: publicModel,
                    created: Int(ChatIdentifiers.now()),
                    choices: [
                        ChatChoice(
                            index: 0, message: ChatMessage(role: .assistant, content: [.text("Blocked: \(reason)")]),
                            finishReason: .contentFilter)
                    ],
                    usage: usage(body["usageMetadata"]))
            }
            throw .malformed("the answer has no candidates")
        }
        var calls = 0
        let choices = candidates.enumerated().map { position, candidate in
            var text = ""
            var toolCalls: [ToolCall] = []
            for part in candidate["content"]?["parts"]?.array ?? [] {
                if let piece = part["text"]?.string, part["thought"]?.bool != true { text += piece }
                if let call = part["functionCall"] {
                    calls += 1
                    let name = call["name"]?.string ?? ""
                    toolCalls.append(
                        ToolCall(
                            id: call["id"]?.string ?? "call_\(calls)_\(name)", name: name,
                            arguments: (call["args"] ?? [:]).jsonString))
                }
            }
            return ChatChoice(
                index: Int(candidate["index"]?.integer ?? Int64(position)),
                message: ChatMessage(
                    role: .assistant, content: text.isEmpty ? [] : [.text(text)], toolCalls: toolCalls),
                finishReason: toolCalls.isEmpty ? finishReason(candidate["finishReason"]?.string) : .toolCalls)
        }
        return ChatResponse(
            id: body["responseId"]?.string ?? ChatIdentifiers.completionID(), model: publicModel,
            created: Int(ChatIdentifiers.now()),
            choices: choices, usage: usage(body["usageMetadata"]))
    }

    package static func usage(_ value: JSONValue?) -> Usage? {
        guard let value, let prompt = value["promptTokenCount"]?.integer else { return nil }
        let output = (value["candidatesTokenCount"]?.integer ?? 0) + (value["thoughtsTokenCount"]?.integer ?? 0)
        return Usage(
            promptTokens: Int(prompt), completionTokens: Int(output),
            cachedPromptTokens: value["cachedContentTokenCount"]?.integer.map { Int($0) })
    }

    package static func finishReason(_ value: String?) -> FinishReason? {
        switch value {
        case nil, "FINISH_REASON_UNSPECIFIED": nil
        case "MAX_TOKENS": .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": .contentFilter
        default: .stop
        }
    }
}

/// Gemini's stream (`alt=sse`): each event a partial response; the text parts are deltas, a function call
/// arrives whole, the last event carries the finish reason and usage.
package struct GeminiStreamDecoder: ChatStreamDecoder {
    package let publicModel: String
    package private(set) var isComplete = false
    private var id = ""
    private let created = Int(ChatIdentifiers.now())
    private var started = false
    private var toolCalls = 0
    private var finish: FinishReason?

    package init(publicModel: String) {
        self.publicModel = publicModel
    }

    package mutating func decode(_ event: ServerSentEvent) throws(UpstreamFailure) -> [ChatChunk] {
        guard !event.data.isEmpty, let json = try? JSONValue.parse(Array(event.data.utf8)) else { return [] }
        if let error = json["error"] {
            throw .status(
                Int(error["code"]?.integer ?? 500), message: error["message"]?.string ?? "error in stream",
                retryAfter: nil)
        }
        if id.isEmpty { id = json["responseId"]?.string ?? ChatIdentifiers.completionID() }
        var chunks: [ChatChunk] = []
        func chunk(_ choice: ChunkChoice) -> ChatChunk {
            ChatChunk(id: id, model: publicModel, created: created, choices: [choice])
        }
        if !started {
            started = true
            chunks.append(chunk(ChunkChoice(index: 0, role: .assistant, text: "")))
        }
        let candidate = json["candidates"]?.array?.first
        for part in candidate?["content"]?["parts"]?.array ?? [] {
            if let text = part["text"]?.string, part["thought"]?.bool != true, !text.isEmpty {
                chunks.append(chunk(ChunkChoice(index: 0, text: text)))
            }
            if let call = part["functionCall"] {
                let name = call["name"]?.string ?? ""
                chunks.append(
                    chunk(
                        ChunkChoice(
                            index: 0,
                            toolCalls: [
                                ToolCallDelta(
                                    index: toolCalls, id: call["id"]?.string ?? "call_\(toolCalls + 1)_\(name)",
                                    name: name,
                                    arguments: (call["args"] ?? [:]).jsonString)
                            ])))
                toolCalls += 1
            }
        }
        if let reason = GeminiDecoding.finishReason(candidate?["finishReason"]?.string) {
            finish = toolCalls > 0 ? .toolCalls : reason
            chunks.append(chunk(ChunkChoice(index: 0, finishReason: finish)))
            isComplete = true
        }
        if isComplete, let usage = GeminiDecoding.usage(json["usageMetadata"]) {
            chunks.append(ChatChunk(id: id, model: publicModel, created: created, choices: [], usage: usage))
        }
        return chunks
    }
}
