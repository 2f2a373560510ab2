import Canonical

/// The upstream side of the Responses API, for OpenAI deployments that declare `responses: native`:
/// canonical requests as `POST {base_url}/responses` bodies, and their response objects and event
/// streams back in canonical form. The gateway keeps conversations itself, so upstreams never store.
package enum ResponsesUpstream {
    /// The body for an upstream serving `model`; chat parameters the Responses API lacks are refused.
    package static func request(_ request: ChatRequest, model: String) throws(UpstreamFailure) -> JSONValue {
        try Translation.check(request, for: .responses)
        var object: [String: JSONValue] = [
            "model": .string(model), "input": .array(request.messages.flatMap(items)), "store": false,
        ]
        func set(_ key: String, _ value: JSONValue?) { if let value { object[key] = value } }
        set("temperature", request.temperature.map(JSONValue.number))
        set("top_p", request.topP.map(JSONValue.number))
        set("max_output_tokens", request.maxTokens.map { .integer(Int64($0)) })
        set("tools", request.tools.map { .array($0.map(tool)) })
        set("tool_choice", request.toolChoice.map(toolChoice))
        set("parallel_tool_calls", request.parallelToolCalls.map(JSONValue.bool))
        set("user", request.user.map(JSONValue.string))
        set("text", try request.responseFormat.map(textFormat))
        if request.stream { object["stream"] = true }
        return .object(object)
    }

    private static func items(_ message: ChatMessage) -> [JSONValue] {
        switch message.role {
        case .tool:
            return [
                [
                    "type": "function_call_output", "call_id": .string(message.toolCallID ?? ""),
                    "output": .string(message.text),
                ]
            ]
        case .system, .user, .assistant:
            var items: [JSONValue] = []
            if !message.content.isEmpty {
                let content: JSONValue
                if message.content.count == 1, case .text(let text) = message.content[0] {
                    content = .string(text)
                } else {
                    content = .array(message.content.map { part(message.role, $0) })
                }
                items.append(["type": "message", "role": .string(message.role.rawValue), "content": content])
            }
            for call in message.toolCalls {
                items.append(
                    [
                        "type": "function_call", "call_id": .string(call.id), "name": .string(call.name),
                        "arguments": .string(call.arguments),
                    ])
            }
            return items
        }
    }

    private static func part(_ role: ChatMessage.Role, _ part: ContentPart) -> JSONValue {
        switch part {
        case .text(let text): return ["type": role == .assistant ? "output_text" : "input_text", "text": .string(text)]
        case .image(let image):
            var object: [String: JSONValue] = ["type": "input_image", "image_url": .string(image.asURL)]
            if let detail = image.detail { object["detail"] = .string(detail) }
            return .object(object)
        case .other(let raw): return raw
        }
    }

    private static func tool(_ tool: ToolDefinition) -> JSONValue {
        var object: [String: JSONValue] = ["type": "function", "name": .string(tool.name)]
        if let description = tool.description { object["description"] = .string(description) }
        if let parameters = tool.parameters { object["parameters"] = parameters }
        if let strict = tool.strict { object["strict"] = .bool(strict) }
        return .object(object)
    }

    private static func toolChoice(_ choice: ToolChoice) -> JSONValue {
        switch choice {
        case .auto: "auto"
        case .none: "none"
        case .required: "required"
        case .function(let name): ["type": "function", "name": .string(name)]
        }
    }

    /// Chat's `response_format` as `text.format`.
    private static func textFormat(_ format: JSONValue) throws(UpstreamFailure) -> JSONValue {
        switch format["type"]?.string {
        case "json_object":
            return ["format": ["type": "json_object"]]
        case "json_schema":
            guard var schema = format["json_schema"]?.object else {
                throw .unsupported("`response_format.json_schema` must be an object.")
            }
            schema["type"] = "json_schema"
            return ["format": .object(schema)]
        default:
            return ["format": ["type": "text"]]
        }
    }

    // MARK: - Answers

    /// An upstream's response object in canonical form, under the client's `publicModel`.
    package static func response(_ body: JSONValue, publicModel: String) throws(UpstreamFailure) -> ChatResponse {
        guard body["object"] == "response", let output = body["output"]?.array else {
            throw .malformed("the upstream answered with something other than a Responses API response object")
        }
        var text = ""
        var calls: [ToolCall] = []
        for item in output {
            switch item["type"]?.string {
            case "message":
                for part in item["content"]?.array ?? [] where part["type"] == "output_text" {
                    text += part["text"]?.string ?? ""
                }
            case "function_call":
                calls.append(
                    ToolCall(
                        id: item["call_id"]?.string ?? ChatIdentifiers.toolCallID(), name: item["name"]?.string ?? "",
                        arguments: item["arguments"]?.string ?? "{}"))
            default:
                break
            }
        }
        return ChatResponse(
            id: body["id"]?.string ?? ChatIdentifiers.completionID(), model: publicModel,
            created: Int(body["created_at"]?.integer ?? ChatIdentifiers.now()),
            choices: [
                ChatChoice(
                    index: 0,
                    message: ChatMessage(
                        role: .assistant, content: text.isEmpty ? [] : [.text(text)], toolCalls: calls),
                    finishReason: finishReason(body, hasCalls: !calls.isEmpty))
            ],
            usage: usage(body["usage"]))
    }

    static func finishReason(_ response: JSONValue, hasCalls: Bool) -> FinishReason {
        if response["status"] == "incomplete" {
            return response["incomplete_details"]?["reason"] == "content_filter" ? .contentFilter : .length
        }
        return hasCalls ? .toolCalls : .stop
    }

    static func usage(_ value: JSONValue?) -> Usage? {
        guard let value, let input = value["input_tokens"]?.integer, let output = value["output_tokens"]?.integer else {
            return nil
        }
        return Usage(
            promptTokens: Int(input), completionTokens: Int(output),
            cachedPromptTokens: value["input_tokens_details"]?["cached_tokens"]?.integer.map { Int($0) })
    }
}

/// An upstream's Responses event stream as canonical chunks: text deltas, function calls (announced by
/// `response.output_item.added`, then argument deltas), and at `response.completed` or
/// `response.incomplete` the finish and usage. `response.failed` and `error` events fail the stream.
package struct ResponsesStreamDecoder: ChatStreamDecoder {
    package let publicModel: String
    package private(set) var isComplete = false
    private var id = ""
    private var created = 0
    /// The tool-call index of each function call item, by item id.
    private var callIndex: [String: Int] = [:]

    package init(publicModel: String) {
        self.publicModel = publicModel
    }

    package mutating func decode(_ event: ServerSentEvent) throws(UpstreamFailure) -> [ChatChunk] {
        guard !event.data.isEmpty, event.data != "[DONE]" else { return [] }
        guard let json = try? JSONValue.parse(Array(event.data.utf8)) else {
            throw .malformed("a stream event is not JSON: \(event.data.prefix(200))")
        }
        switch json["type"]?.string ?? event.event {
        case "response.created":
            id = json["response"]?["id"]?.string ?? ChatIdentifiers.completionID()
            created = Int(json["response"]?["created_at"]?.integer ?? ChatIdentifiers.now())
            return [chunk(ChunkChoice(index: 0, role: .assistant, text: ""))]
        case "response.output_text.delta":
            return [chunk(ChunkChoice(index: 0, text: json["delta"]?.string ?? ""))]
        case "response.output_item.added" where json["item"]?["type"] == "function_call":
            let item = json["item"] ?? .null
            let index = callIndex.count
            callIndex[item["id"]?.string ?? ""] = index
            let delta = ToolCallDelta(
                index: index, id: item["call_id"]?.string ?? ChatIdentifiers.toolCallID(),
                name: item["name"]?.string ?? "", arguments: item["arguments"]?.string ?? "")
            return [chunk(ChunkChoice(index: 0, toolCalls: [delta]))]
        case "response.function_call_arguments.delta":
            guard let index = callIndex[json["item_id"]?.string ?? ""] else { return [] }
            let delta = ToolCallDelta(index: index, arguments: json["delta"]?.string ?? "")
            return [chunk(ChunkChoice(index: 0, toolCalls: [delta]))]
        case "response.completed", "response.incomplete":
            isComplete = true
            let response = json["response"] ?? .null
            let reason = ResponsesUpstream.finishReason(
                response, hasCalls: (response["output"]?.array ?? []).contains { $0["type"] == "function_call" })
            var finish = chunk(ChunkChoice(index: 0, finishReason: reason))
            finish.usage = ResponsesUpstream.usage(response["usage"])
            return [finish]
        case "response.failed", "error":
            let message = json["response"]?["error"]?["message"]?.string ?? json["message"]?.string ?? "error in stream"
            throw .status(500, message: message, retryAfter: nil)
        default:
            return []
        }
    }

    private func chunk(_ choice: ChunkChoice) -> ChatChunk {
        ChatChunk(id: id, model: publicModel, created: created, choices: [choice])
    }
}
