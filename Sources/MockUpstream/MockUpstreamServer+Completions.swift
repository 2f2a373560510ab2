import Foundation
import Hummingbird

/// OpenAI's legacy text completions (streamed or not) and moderations, for the gateway's passthrough.
extension MockUpstreamServer {
    func completions(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock"
        let (behaviour, failure) = try await prepare(
            request, context: context, model: model, path: "/v1/completions", errorBody: Self.openAIError)
        if let failure { return failure }
        let prompt = body["prompt"] as? String ?? (body["prompt"] as? [String])?.first ?? ""
        let answer = MockAnswers.answer(to: prompt)
        let id = "cmpl-mock\(Int(roll() * 1e12))"
        let created = Int(Date().timeIntervalSince1970)
        guard body["stream"] as? Bool == true else {
            let usage = MockAnswers.tokens(prompt)
            return json([
                "id": id, "object": "text_completion", "created": created, "model": model,
                "choices": [["index": 0, "text": answer, "logprobs": NSNull(), "finish_reason": "stop"]],
                "usage": [
                    "prompt_tokens": usage, "completion_tokens": MockAnswers.tokens(answer),
                    "total_tokens": usage + MockAnswers.tokens(answer),
                ],
            ])
        }
        func chunk(_ text: String, finish: String?) -> ByteBuffer {
            Self.sse([
                "id": id, "object": "text_completion", "created": created, "model": model,
                "choices": [
                    ["index": 0, "text": text, "logprobs": NSNull(), "finish_reason": finish as Any? ?? NSNull()]
                ],
            ])
        }
        var events = MockAnswers.pieces(answer).map { chunk($0, finish: nil) }
        events.append(chunk("", finish: "stop"))
        events.append(ByteBuffer(string: "data: [DONE]\n\n"))
        return stream(behaviour: behaviour, events: events)
    }

    /// Flags any input containing "attack"; every other category is false.
    func moderations(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock"
        let (_, failure) = try await prepare(
            request, context: context, model: model, path: "/v1/moderations", errorBody: Self.openAIError)
        if let failure { return failure }
        let inputs = (body["input"] as? [String]) ?? [(body["input"] as? String) ?? ""]
        return json([
            "id": "modr-mock", "model": model,
            "results": inputs.map { input in
                let flagged = input.lowercased().contains("attack")
                return [
                    "flagged": flagged, "categories": ["violence": flagged],
                    "category_scores": ["violence": flagged ? 0.9 : 0.01],
                ]
            },
        ])
    }
}
