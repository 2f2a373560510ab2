import Canonical

/// Encodes canonical responses as Responses API `response` objects: a `message` output item for the
/// text, a `function_call` item per tool call, usage as `input_tokens`/`output_tokens`, and the request's
/// parameters repeated as OpenAI's objects carry them.
package enum ResponsesEncoding {
    /// The response object answering `request` with `response`'s first choice, under the id `id`.
    ///
    /// - Parameter createdAt: Unix seconds; the response's own `created` when nil.
    package static func response(
        _ response: ChatResponse, id: String, request: ResponsesRequest, createdAt: Int? = nil
    ) -> JSONValue {
        let choice = response.choices.first
        let message = choice?.message ?? ChatMessage(role: .assistant, content: [])
        let state = ResponseState(finishReason: choice?.finishReason)
        var items: [JSONValue] = []
        if !message.text.isEmpty || message.toolCalls.isEmpty {
            items.append(
                messageItem(id: ResponsesIdentifiers.messageID(), text: message.text, status: state.itemStatus))
        }
        for call in message.toolCalls {
            items.append(functionCallItem(id: ResponsesIdentifiers.functionCallID(), call: call, status: "completed"))
        }
        return object(
            id: id, model: response.model, createdAt: createdAt ?? response.created, request: request, state: state,
            output: items, usage: response.usage)
    }

    /// A response object in any state: `in_progress` ones (in `response.created`) have no output or usage yet.
    static func object(
        id: String, model: String, createdAt: Int, request: ResponsesRequest, state: ResponseState,
        output: [JSONValue], usage: Usage?, error: GatewayError? = nil
    ) -> JSONValue {
        var object = request.echo
        object["id"] = .string(id)
        object["object"] = "response"
        object["created_at"] = .integer(Int64(createdAt))
        object["model"] = .string(model)
        object["status"] = .string(state.status)
        object["output"] = .array(output)
        if let error {
            object["error"] = ["code": .string(error.code ?? "server_error"), "message": .string(error.message)]
        } else {
            object["error"] = .null
        }
        object["incomplete_details"] = state.incompleteReason.map { ["reason": .string($0)] } ?? .null
        object["usage"] = usage.map(self.usage) ?? .null
        return .object(object)
    }

    static func messageItem(id: String, text: String?, status: String) -> JSONValue {
        [
            "id": .string(id), "type": "message", "role": "assistant", "status": .string(status),
            "content": .array(text.map { [outputText($0)] } ?? []),
        ]
    }

    static func outputText(_ text: String) -> JSONValue {
        ["type": "output_text", "text": .string(text), "annotations": [], "logprobs": []]
    }

    static func functionCallItem(id: String, call: ToolCall, status: String) -> JSONValue {
        [
            "id": .string(id), "type": "function_call", "call_id": .string(call.id), "name": .string(call.name),
            "arguments": .string(call.arguments), "status": .string(status),
        ]
    }

    package static func usage(_ usage: Usage) -> JSONValue {
        [
            "input_tokens": .integer(Int64(usage.promptTokens)),
            "input_tokens_details": ["cached_tokens": .integer(Int64(usage.cachedPromptTokens ?? 0))],
            "output_tokens": .integer(Int64(usage.completionTokens)),
            "output_tokens_details": ["reasoning_tokens": 0],
            "total_tokens": .integer(Int64(usage.totalTokens)),
        ]
    }
}

/// Where a response stands, from the finish reason of its answer.
struct ResponseState {
    var status: String
    var incompleteReason: String?

    static let inProgress = ResponseState(status: "in_progress")
    static let failed = ResponseState(status: "failed")

    init(status: String, incompleteReason: String? = nil) {
        self.status = status
        self.incompleteReason = incompleteReason
    }

    init(finishReason: FinishReason?) {
        switch finishReason {
        case .length: self.init(status: "incomplete", incompleteReason: "max_output_tokens")
        case .contentFilter: self.init(status: "incomplete", incompleteReason: "content_filter")
        case .stop, .toolCalls, nil: self.init(status: "completed")
        }
    }

    /// The status of the output items of a response that ended in this state.
    var itemStatus: String { status == "incomplete" ? "incomplete" : "completed" }
}

/// Identifiers of Responses API objects the gateway creates.
package enum ResponsesIdentifiers {
    package static func responseID() -> String { "resp_" + ChatIdentifiers.random(32) }
    static func messageID() -> String { "msg_" + ChatIdentifiers.random(32) }
    static func functionCallID() -> String { "fc_" + ChatIdentifiers.random(32) }
}
