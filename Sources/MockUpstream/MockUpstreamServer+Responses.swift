import Foundation
import Hummingbird

extension MockUpstreamServer {
    /// OpenAI's Responses API (`POST /v1/responses`): the same answers as chat completions (a call of the
    /// first function tool unless the last input item is a tool output, else the mock answer to the last
    /// user text), as a response object or its typed event stream.
    func openAIResponses(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock"
        let (behaviour, failure) = try await prepare(
            request, context: context, model: model, path: "/v1/responses", errorBody: Self.openAIError)
        if let failure { return failure }
        let items: [[String: Any]] =
            (body["input"] as? String).map { [["role": "user", "content": $0]] } ?? body["input"] as? [[String: Any]]
            ?? []
        let question = Self.lastUserText(items)
        let promptText = items.map { ($0["content"] as? String) ?? ($0["output"] as? String) ?? "" }
            .joined(separator: " ")
        let tools = (body["tools"] as? [[String: Any]]) ?? []
        let callsTool =
            !tools.isEmpty && items.last?["type"] as? String != "function_call_output"
            && body["tool_choice"] as? String != "none"
        let answer = MockAnswers.answer(to: question)
        let id = "resp_mock\(Int(roll() * 1e12))"
        let arguments = String(decoding: try JSONSerialization.data(withJSONObject: ["query": question]), as: UTF8.self)
        let inputTokens = MockAnswers.tokens(promptText)
        let outputTokens = callsTool ? 8 : MockAnswers.tokens(answer)
        let item: [String: Any] =
            callsTool
            ? [
                "id": "fc_mock1", "type": "function_call", "status": "completed", "call_id": "call_mock1",
                "name": tools.first?["name"] as? String ?? "tool", "arguments": arguments,
            ]
            : [
                "id": "msg_mock1", "type": "message", "role": "assistant", "status": "completed",
                "content": [["type": "output_text", "text": answer, "annotations": []]],
            ]
        func response(status: String, output: [[String: Any]], usage: Bool) -> [String: Any] {
            var object: [String: Any] = [
                "id": id, "object": "response", "created_at": Int(Date().timeIntervalSince1970), "model": model,
                "status": status, "output": output, "tools": tools, "tool_choice": body["tool_choice"] ?? "auto",
                "parallel_tool_calls": true,
            ]
            if usage {
                object["usage"] = [
                    "input_tokens": inputTokens, "input_tokens_details": ["cached_tokens": 0],
                    "output_tokens": outputTokens, "output_tokens_details": ["reasoning_tokens": 0],
                    "total_tokens": inputTokens + outputTokens,
                ]
            }
            return object
        }
        guard body["stream"] as? Bool == true else {
            return json(response(status: "completed", output: [item], usage: true))
        }
        var sequence = 0
        func event(_ type: String, _ fields: [String: Any]) -> ByteBuffer {
            var data = fields
            data["type"] = type
            data["sequence_number"] = sequence
            sequence += 1
            return Self.sse(data, event: type)
        }
        var events = [
            event("response.created", ["response": response(status: "in_progress", output: [], usage: false)]),
            event("response.in_progress", ["response": response(status: "in_progress", output: [], usage: false)]),
        ]
        var added = item
        added["status"] = "in_progress"
        if callsTool {
            added["arguments"] = ""
            events.append(event("response.output_item.added", ["output_index": 0, "item": added]))
            for piece in [String(arguments.prefix(10)), String(arguments.dropFirst(10))] where !piece.isEmpty {
                events.append(
                    event(
                        "response.function_call_arguments.delta",
                        ["item_id": "fc_mock1", "output_index": 0, "delta": piece]))
            }
        } else {
            added["content"] = []
            events.append(event("response.output_item.added", ["output_index": 0, "item": added]))
            for piece in MockAnswers.pieces(answer) {
                events.append(
                    event(
                        "response.output_text.delta",
                        ["item_id": "msg_mock1", "output_index": 0, "content_index": 0, "delta": piece]))
            }
        }
        events.append(event("response.output_item.done", ["output_index": 0, "item": item]))
        events.append(
            event("response.completed", ["response": response(status: "completed", output: [item], usage: true)]))
        return stream(behaviour: behaviour, events: events)
    }
}
