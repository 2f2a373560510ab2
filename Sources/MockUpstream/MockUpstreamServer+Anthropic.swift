import Foundation
import HTTPTypes
import Hummingbird

extension MockUpstreamServer {
    /// Anthropic's token count: the mock's word-count tokens of every message's text.
    func anthropicCountTokens(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock"
        let (_, failure) = try await prepare(
            request, context: context, model: model, path: "/v1/messages/count_tokens"
        ) { status in ["type": "error", "error": ["type": "api_error", "message": "mock upstream error \(status)"]] }
        if let failure { return failure }
        guard request.headers[HTTPField.Name("anthropic-version")!] != nil else {
            return json(
                [
                    "type": "error",
                    "error": ["type": "invalid_request_error", "message": "anthropic-version header is required"],
                ], status: .badRequest)
        }
        let messages = body["messages"] as? [[String: Any]] ?? []
        return json(["input_tokens": MockAnswers.tokens(Self.lastUserText(messages))])
    }

    func anthropicMessages(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock"
        let (behaviour, failure) = try await prepare(request, context: context, model: model, path: "/v1/messages") {
            status in
            [
                "type": "error",
                "error": [
                    "type": status == 429 ? "rate_limit_error" : status == 529 ? "overloaded_error" : "api_error",
                    "message": "mock upstream error \(status)",
                ],
            ]
        }
        if let failure { return failure }
        guard request.headers[HTTPField.Name("anthropic-version")!] != nil else {
            return json(
                [
                    "type": "error",
                    "error": ["type": "invalid_request_error", "message": "anthropic-version header is required"],
                ], status: .badRequest)
        }
        guard body["max_tokens"] is Int else {
            return json(
                [
                    "type": "error",
                    "error": ["type": "invalid_request_error", "message": "max_tokens: Field required"],
                ], status: .badRequest)
        }
        let messages = body["messages"] as? [[String: Any]] ?? []
        let question = Self.lastUserText(messages)
        let tools = (body["tools"] as? [[String: Any]]) ?? []
        let lastHasToolResult = ((messages.last?["content"] as? [[String: Any]]) ?? []).contains {
            $0["type"] as? String == "tool_result"
        }
        let callsTool = !tools.isEmpty && !lastHasToolResult
        let answer = MockAnswers.answer(to: question)
        let inputTokens = MockAnswers.tokens(messages.map { ($0["content"] as? String) ?? "" }.joined(separator: " "))
        let outputTokens = callsTool ? 8 : MockAnswers.tokens(answer)
        let id = "msg_mock\(Int(roll() * 1e12))"
        let toolName = tools.first?["name"] as? String ?? "tool"
        let content: [[String: Any]] =
            callsTool
            ? [["type": "tool_use", "id": "toolu_mock1", "name": toolName, "input": ["query": question]]]
            : [["type": "text", "text": answer]]
        let stopReason = callsTool ? "tool_use" : "end_turn"

        guard body["stream"] as? Bool == true else {
            return json([
                "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stopReason,
                "stop_sequence": NSNull(), "usage": ["input_tokens": inputTokens, "output_tokens": outputTokens],
            ])
        }
        var events = [
            Self.sse(
                [
                    "type": "message_start",
                    "message": [
                        "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                        "stop_reason": NSNull(),
                        "stop_sequence": NSNull(), "usage": ["input_tokens": inputTokens, "output_tokens": 1],
                    ],
                ],
                event: "message_start"),
            Self.sse(["type": "ping"], event: "ping"),
        ]
        if callsTool {
            let arguments = String(
                decoding: try JSONSerialization.data(withJSONObject: ["query": question]), as: UTF8.self)
            events.append(
                Self.sse(
                    [
                        "type": "content_block_start", "index": 0,
                        "content_block": ["type": "tool_use", "id": "toolu_mock1", "name": toolName, "input": [:]],
                    ],
                    event: "content_block_start"))
            events.append(
                Self.sse(
                    [
                        "type": "content_block_delta", "index": 0,
                        "delta": ["type": "input_json_delta", "partial_json": arguments],
                    ],
                    event: "content_block_delta"))
        } else {
            events.append(
                Self.sse(
                    ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]],
                    event: "content_block_start"))
            for piece in MockAnswers.pieces(answer) {
                events.append(
                    Self.sse(
                        ["type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": piece]],
                        event: "content_block_delta"))
            }
        }
        events.append(Self.sse(["type": "content_block_stop", "index": 0], event: "content_block_stop"))
        events.append(
            Self.sse(
                [
                    "type": "message_delta", "delta": ["stop_reason": stopReason, "stop_sequence": NSNull()],
                    "usage": ["output_tokens": outputTokens],
                ],
                event: "message_delta"))
        events.append(Self.sse(["type": "message_stop"], event: "message_stop"))
        return stream(behaviour: behaviour, events: events, cutAfter: 3)
    }
}
