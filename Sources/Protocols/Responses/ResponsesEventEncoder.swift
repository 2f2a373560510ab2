import Canonical

/// The Responses API's typed stream: `response.created` and `response.in_progress`, then per output item
/// `response.output_item.added`, its content (`response.content_part.added`, `response.output_text.delta`
/// ... `.done`, `response.content_part.done`; or `response.function_call_arguments.delta` ... `.done`) and
/// `response.output_item.done`; at the end `response.completed` (or `response.incomplete`) with the whole
/// response and its usage, or `response.failed` when the upstream fails midway. Every event carries its
/// `sequence_number`. Built from the canonical chunks of the first choice.
package struct ResponsesEventEncoder: ChatEventEncoder {
    private enum Item {
        case message(id: String, text: String)
        case functionCall(id: String, call: ToolCall, toolIndex: Int)
    }

    private let id: String
    private let request: ResponsesRequest
    private let createdAt: Int
    private var sequenceNumber = 0
    private var started = false
    private var items: [Item] = []
    /// The index in `items` of the item still open, whose content is streaming.
    private var openItem: Int?
    private var usage: Usage?
    private var finishReason: FinishReason?
    /// The final response object, once ``finish()`` ran: what `GET /v1/responses/{id}` serves.
    package private(set) var completedResponse: JSONValue?

    package init(id: String, request: ResponsesRequest, createdAt: Int = Int(ChatIdentifiers.now())) {
        self.id = id
        self.request = request
        self.createdAt = createdAt
    }

    package mutating func encode(_ chunk: ChatChunk) -> [String] {
        var events = start()
        if let usage = chunk.usage { self.usage = usage }
        for choice in chunk.choices where choice.index == 0 {
            if let text = choice.text, !text.isEmpty { events += appendText(text) }
            for delta in choice.toolCalls { events += appendToolCall(delta) }
            if let reason = choice.finishReason { finishReason = reason }
        }
        return events
    }

    package mutating func finish() -> [String] {
        var events = start()
        if items.isEmpty { events += appendText("") }
        events += closeOpenItem()
        let state = ResponseState(finishReason: finishReason)
        let response = snapshot(state: state, usage: usage)
        completedResponse = response
        events.append(
            event(state.status == "incomplete" ? "response.incomplete" : "response.completed", ["response": response]))
        return events
    }

    package mutating func fail(_ error: GatewayError) -> [String] {
        var events = start()
        events.append(event("response.failed", ["response": snapshot(state: .failed, usage: usage, error: error)]))
        return events
    }

    // MARK: - Items

    private mutating func start() -> [String] {
        guard !started else { return [] }
        started = true
        let response = snapshot(state: .inProgress, usage: nil)
        return [
            event("response.created", ["response": response]), event("response.in_progress", ["response": response]),
        ]
    }

    private mutating func appendText(_ text: String) -> [String] {
        var events: [String] = []
        if let openItem, case .message(let itemID, let sofar) = items[openItem] {
            items[openItem] = .message(id: itemID, text: sofar + text)
            events.append(textDelta(text, itemID: itemID, outputIndex: openItem))
            return events
        }
        events += closeOpenItem()
        let itemID = ResponsesIdentifiers.messageID()
        items.append(.message(id: itemID, text: text))
        let index = items.count - 1
        openItem = index
        events.append(
            event(
                "response.output_item.added",
                [
                    "output_index": .integer(Int64(index)),
                    "item": ResponsesEncoding.messageItem(id: itemID, text: nil, status: "in_progress"),
                ]))
        events.append(
            event(
                "response.content_part.added",
                [
                    "item_id": .string(itemID), "output_index": .integer(Int64(index)), "content_index": 0,
                    "part": ResponsesEncoding.outputText(""),
                ]))
        if !text.isEmpty { events.append(textDelta(text, itemID: itemID, outputIndex: index)) }
        return events
    }

    private mutating func appendToolCall(_ delta: ToolCallDelta) -> [String] {
        var events: [String] = []
        let existing = items.indices.last { index in
            if case .functionCall(_, _, let toolIndex) = items[index] { return toolIndex == delta.index }
            return false
        }
        if let index = existing, case .functionCall(let itemID, var call, let toolIndex) = items[index] {
            if let name = delta.name { call.name += name }
            if let arguments = delta.arguments, !arguments.isEmpty {
                call.arguments += arguments
                events.append(argumentsDelta(arguments, itemID: itemID, outputIndex: index))
            }
            items[index] = .functionCall(id: itemID, call: call, toolIndex: toolIndex)
            return events
        }
        events += closeOpenItem()
        let itemID = ResponsesIdentifiers.functionCallID()
        let call = ToolCall(
            id: delta.id ?? ChatIdentifiers.toolCallID(), name: delta.name ?? "", arguments: delta.arguments ?? "")
        items.append(.functionCall(id: itemID, call: call, toolIndex: delta.index))
        let index = items.count - 1
        openItem = index
        var announced = call
        announced.arguments = ""
        events.append(
            event(
                "response.output_item.added",
                [
                    "output_index": .integer(Int64(index)),
                    "item": ResponsesEncoding.functionCallItem(id: itemID, call: announced, status: "in_progress"),
                ]))
        if !call.arguments.isEmpty { events.append(argumentsDelta(call.arguments, itemID: itemID, outputIndex: index)) }
        return events
    }

    private mutating func closeOpenItem() -> [String] {
        guard let index = openItem else { return [] }
        openItem = nil
        let outputIndex: JSONValue = .integer(Int64(index))
        switch items[index] {
        case .message(let itemID, let text):
            return [
                event(
                    "response.output_text.done",
                    [
                        "item_id": .string(itemID), "output_index": outputIndex, "content_index": 0,
                        "text": .string(text), "logprobs": [],
                    ]),
                event(
                    "response.content_part.done",
                    [
                        "item_id": .string(itemID), "output_index": outputIndex, "content_index": 0,
                        "part": ResponsesEncoding.outputText(text),
                    ]),
                event("response.output_item.done", ["output_index": outputIndex, "item": finished(items[index])]),
            ]
        case .functionCall(let itemID, let call, _):
            return [
                event(
                    "response.function_call_arguments.done",
                    [
                        "item_id": .string(itemID), "output_index": outputIndex, "name": .string(call.name),
                        "arguments": .string(call.arguments),
                    ]),
                event("response.output_item.done", ["output_index": outputIndex, "item": finished(items[index])]),
            ]
        }
    }

    // MARK: - Events

    private func finished(_ item: Item) -> JSONValue {
        let status = ResponseState(finishReason: finishReason).itemStatus
        switch item {
        case .message(let itemID, let text):
            return ResponsesEncoding.messageItem(id: itemID, text: text, status: status)
        case .functionCall(let itemID, let call, _):
            return ResponsesEncoding.functionCallItem(id: itemID, call: call, status: status)
        }
    }

    private func snapshot(state: ResponseState, usage: Usage?, error: GatewayError? = nil) -> JSONValue {
        let output = state.status == "in_progress" ? [] : items.map(finished)
        return ResponsesEncoding.object(
            id: id, model: request.chat.model, createdAt: createdAt, request: request, state: state, output: output,
            usage: usage, error: error)
    }

    private mutating func textDelta(_ text: String, itemID: String, outputIndex: Int) -> String {
        event(
            "response.output_text.delta",
            [
                "item_id": .string(itemID), "output_index": .integer(Int64(outputIndex)), "content_index": 0,
                "delta": .string(text), "logprobs": [],
            ])
    }

    private mutating func argumentsDelta(_ arguments: String, itemID: String, outputIndex: Int) -> String {
        event(
            "response.function_call_arguments.delta",
            ["item_id": .string(itemID), "output_index": .integer(Int64(outputIndex)), "delta": .string(arguments)])
    }

    /// One event, numbered: `event: type` and its data, which repeats the type.
    private mutating func event(_ type: String, _ fields: [String: JSONValue]) -> String {
        var data = fields
        data["type"] = .string(type)
        data["sequence_number"] = .integer(Int64(sequenceNumber))
        sequenceNumber += 1
        return Self.event(.object(data), name: type)
    }
}
