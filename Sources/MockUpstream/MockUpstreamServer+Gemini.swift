import Foundation
import Hummingbird

extension MockUpstreamServer {
    func gemini(_ request: Request, context: MockContext) async throws -> Response {
        let action = context.parameters.get("action") ?? ""
        let parts = action.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, ["generateContent", "streamGenerateContent"].contains(parts[1]) else {
            return json(
                ["error": ["code": 404, "message": "unknown action \(action)", "status": "NOT_FOUND"]],
                status: .notFound)
        }
        let model = String(parts[0])
        let body = try await readBody(request)
        let (behaviour, failure) = try await prepare(
            request, context: context, model: model, path: "/v1beta/models:\(parts[1])"
        ) { status in
            [
                "error": [
                    "code": status, "message": "mock upstream error \(status)",
                    "status": status == 429 ? "RESOURCE_EXHAUSTED" : "INTERNAL",
                ]
            ]
        }
        if let failure { return failure }
        let contents = body["contents"] as? [[String: Any]] ?? []
        let question =
            contents.reversed().first { ($0["role"] as? String ?? "user") == "user" }
            .map {
                (($0["parts"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }.joined(separator: " ")
            } ?? ""
        let declarations =
            ((body["tools"] as? [[String: Any]])?.first?["functionDeclarations"] as? [[String: Any]]) ?? []
        let lastHasResponse = ((contents.last?["parts"] as? [[String: Any]]) ?? []).contains {
            $0["functionResponse"] != nil
        }
        let callsTool = !declarations.isEmpty && !lastHasResponse
        let answer = MockAnswers.answer(to: question)
        let promptTokens = MockAnswers.tokens(question)
        let outputTokens = callsTool ? 8 : MockAnswers.tokens(answer)
        let usage: [String: Any] = [
            "promptTokenCount": promptTokens, "candidatesTokenCount": outputTokens,
            "totalTokenCount": promptTokens + outputTokens,
        ]
        let id = "mock\(Int(roll() * 1e12))"
        let toolPart: [String: Any] = [
            "functionCall": ["name": declarations.first?["name"] as? String ?? "tool", "args": ["query": question]]
        ]

        guard parts[1] == "streamGenerateContent" else {
            return json([
                "candidates": [
                    [
                        "content": ["role": "model", "parts": callsTool ? [toolPart] : [["text": answer]]],
                        "finishReason": "STOP", "index": 0,
                    ]
                ],
                "usageMetadata": usage, "modelVersion": model, "responseId": id,
            ])
        }
        var events: [ByteBuffer] = []
        let pieces = callsTool ? [] : MockAnswers.pieces(answer)
        for (index, piece) in pieces.enumerated() where index < pieces.count - 1 {
            events.append(
                Self.sse([
                    "candidates": [["content": ["role": "model", "parts": [["text": piece]]], "index": 0]],
                    "modelVersion": model, "responseId": id,
                ]))
        }
        let last: [String: Any] = callsTool ? toolPart : ["text": pieces.last ?? ""]
        events.append(
            Self.sse([
                "candidates": [["content": ["role": "model", "parts": [last]], "finishReason": "STOP", "index": 0]],
                "usageMetadata": usage, "modelVersion": model, "responseId": id,
            ]))
        return stream(behaviour: behaviour, events: events)
    }
}
