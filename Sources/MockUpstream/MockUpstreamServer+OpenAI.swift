import Foundation
import Hummingbird

extension MockUpstreamServer {
    static func openAIError(_ status: Int) -> [String: Any] {
        [
            "error": [
                "message": "mock upstream error \(status)", "type": status == 429 ? "rate_limit_error" : "server_error",
                "code": status,
            ]
        ]
    }

    func openAIChat(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock"
        let (behaviour, failure) = try await prepare(
            request, context: context, model: model, path: "/v1/chat/completions", errorBody: Self.openAIError)
        if let failure { return failure }
        let messages = body["messages"] as? [[String: Any]] ?? []
        let question = Self.lastUserText(messages)
        let promptText = messages.map { ($0["content"] as? String) ?? "" }.joined(separator: " ")
        let promptTokens = MockAnswers.tokens(promptText)
        let tools = (body["tools"] as? [[String: Any]]) ?? []
        let callsTool =
            !tools.isEmpty && messages.last?["role"] as? String != "tool" && body["tool_choice"] as? String != "none"
        let answer = MockAnswers.answer(to: question)
        let choices = body["n"] as? Int ?? 1
        if let refusal = refuse(choices, outside: 1...128, param: "n") { return refusal }
        let id = "chatcmpl-mock\(Int(roll() * 1e12))"
        let created = Int(Date().timeIntervalSince1970)
        let toolName = ((tools.first?["function"] as? [String: Any])?["name"] as? String) ?? "tool"
        let arguments = String(decoding: try JSONSerialization.data(withJSONObject: ["query": question]), as: UTF8.self)
        let completionTokens = callsTool ? 8 : MockAnswers.tokens(answer)
        let usage: [String: Any] = [
            "prompt_tokens": promptTokens, "completion_tokens": completionTokens * choices,
            "total_tokens": promptTokens + completionTokens * choices,
        ]

        guard body["stream"] as? Bool == true else {
            let message: [String: Any] =
                callsTool
                ? [
                    "role": "assistant", "content": NSNull(),
                    "tool_calls": [
                        [
                            "id": "call_mock1", "type": "function",
                            "function": ["name": toolName, "arguments": arguments],
                        ]
                    ],
                ]
                : ["role": "assistant", "content": answer]
            return json([
                "id": id, "object": "chat.completion", "created": created, "model": model,
                "choices": (0..<choices).map {
                    ["index": $0, "message": message, "finish_reason": callsTool ? "tool_calls" : "stop"]
                },
                "usage": usage,
            ])
        }
        func chunk(_ delta: [String: Any], index: Int = 0, finish: String? = nil) -> ByteBuffer {
            Self.sse([
                "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [["index": index, "delta": delta, "finish_reason": finish as Any? ?? NSNull()]],
            ])
        }
        var events: [ByteBuffer] = []
        for index in 0..<choices {
            events.append(chunk(["role": "assistant", "content": ""], index: index))
            if callsTool {
                events.append(
                    chunk(
                        [
                            "tool_calls": [
                                [
                                    "index": 0, "id": "call_mock1", "type": "function",
                                    "function": ["name": toolName, "arguments": ""],
                                ]
                            ]
                        ], index: index))
                for piece in [String(arguments.prefix(10)), String(arguments.dropFirst(10))] where !piece.isEmpty {
                    events.append(
                        chunk(["tool_calls": [["index": 0, "function": ["arguments": piece]]]], index: index))
                }
            } else {
                for piece in MockAnswers.pieces(answer) { events.append(chunk(["content": piece], index: index)) }
            }
            events.append(chunk([:], index: index, finish: callsTool ? "tool_calls" : "stop"))
        }
        if (body["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true {
            events.append(
                Self.sse([
                    "id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
                    "usage": usage,
                ]))
        }
        events.append(ByteBuffer(string: "data: [DONE]\n\n"))
        return stream(behaviour: behaviour, events: events)
    }

    func embeddings(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock"
        let (_, failure) = try await prepare(
            request, context: context, model: model, path: "/v1/embeddings", errorBody: Self.openAIError)
        if let failure { return failure }
        let inputs: [String]
        if let text = body["input"] as? String {
            inputs = [text]
        } else if let texts = body["input"] as? [String] {
            inputs = texts
        } else if let tokens = body["input"] as? [Any] {
            inputs = tokens.map { "\($0)" }
        } else {
            return json(
                ["error": ["message": "input is required", "type": "invalid_request_error"]], status: .badRequest)
        }
        let dimension = body["dimensions"] as? Int ?? 64
        if let refusal = refuse(dimension, outside: 1...4096, param: "dimensions") { return refusal }
        let tokens = inputs.reduce(0) { $0 + MockAnswers.tokens($1) }
        return json([
            "object": "list", "model": model,
            "data": inputs.enumerated().map {
                ["object": "embedding", "index": $0, "embedding": MockAnswers.embedding($1, dimension: dimension)]
            },
            "usage": ["prompt_tokens": tokens, "total_tokens": tokens],
        ])
    }
}
