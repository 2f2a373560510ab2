import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension MockUpstreamServer {
    /// Images, audio, rerank, and the Midjourney and Suno task APIs.
    func registerMediaRoutes(on router: Router<MockContext>) {
        router.post("/v1/images/generations") { request, context in try await self.images(request, context: context) }
        router.post("/v1/audio/transcriptions") { request, context in
            try await self.transcription(request, context: context)
        }
        router.post("/v1/audio/speech") { request, context in try await self.speech(request, context: context) }
        router.post("/v1/rerank") { request, context in try await self.rerank(request, context: context) }
        router.post("/v1/midjourney/imagine") { request, context in
            try await self.task(request, context: context, path: "/v1/midjourney/imagine")
        }
        router.post("/v1/suno/generate") { request, context in
            try await self.task(request, context: context, path: "/v1/suno/generate")
        }
    }

    private func images(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock-image"
        let (_, failure) = try await prepare(
            request, context: context, model: model, path: "/v1/images/generations", errorBody: Self.openAIError)
        if let failure { return failure }
        guard let prompt = body["prompt"] as? String else {
            return json(
                ["error": ["message": "prompt is required", "type": "invalid_request_error"]], status: .badRequest)
        }
        let count = body["n"] as? Int ?? 1
        if let refusal = refuse(count, outside: 1...10, param: "n") { return refusal }
        let base64 = body["response_format"] as? String == "b64_json"
        let data: [[String: Any]] = (0..<count).map { index in
            base64
                ? [
                    "b64_json": Data("mock image \(index) of \(prompt)".utf8).base64EncodedString(),
                    "revised_prompt": prompt,
                ]
                : ["url": "https://mock.invalid/images/\(index).png", "revised_prompt": prompt]
        }
        return json(["created": Int(Date().timeIntervalSince1970), "data": data])
    }

    /// Reads the multipart body in full (a mock may), and answers with its model and the size of the file.
    private func transcription(_ request: Request, context: MockContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 512 * 1024 * 1024)
        let bytes = Array(buffer.readableBytesView)
        let text = String(decoding: bytes, as: UTF8.self)
        let model = Self.multipartField("model", in: text) ?? "mock"
        counts.withLock { $0["/v1/audio/transcriptions \(model)", default: 0] += 1 }
        guard let boundary = request.headers[.contentType]?.components(separatedBy: "boundary=").last,
            text.contains("--" + boundary)
        else {
            return json(
                ["error": ["message": "expected multipart/form-data", "type": "invalid_request_error"]],
                status: .badRequest)
        }
        return json(["text": "Mock transcription of \(bytes.count) bytes by \(model)"])
    }

    /// `size` bytes of fake audio (default 64 KiB), streamed in 4 KiB chunks.
    private func speech(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock-tts"
        let (_, failure) = try await prepare(
            request, context: context, model: model, path: "/v1/audio/speech", errorBody: Self.openAIError)
        if let failure { return failure }
        let size = body["size"] as? Int ?? 65536
        if let refusal = refuse(size, outside: 0...(64 << 20), param: "size") { return refusal }
        return Response(
            status: .ok, headers: [.contentType: "audio/mpeg"],
            body: ResponseBody { writer in
                var sent = 0
                while sent < size {
                    let chunk = min(4096, size - sent)
                    try await writer.write(ByteBuffer(repeating: UInt8(truncatingIfNeeded: sent / 4096), count: chunk))
                    sent += chunk
                }
                try await writer.finish(nil)
            })
    }

    /// Documents scored by the share of the query's words they contain (Cohere/Jina shape).
    private func rerank(_ request: Request, context: MockContext) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock-rerank"
        let (_, failure) = try await prepare(
            request, context: context, model: model, path: "/v1/rerank", errorBody: Self.openAIError)
        if let failure { return failure }
        guard let query = body["query"] as? String, let documents = body["documents"] as? [Any] else {
            return json(
                ["error": ["message": "query and documents are required", "type": "invalid_request_error"]],
                status: .badRequest)
        }
        let words = Set(query.lowercased().split(separator: " "))
        let texts = documents.map { ($0 as? String) ?? (($0 as? [String: Any])?["text"] as? String) ?? "" }
        let scored = texts.enumerated().map { index, text -> [String: Any] in
            let overlap = Set(text.lowercased().split(separator: " ")).intersection(words).count
            return ["index": index, "relevance_score": Double(overlap) / Double(max(words.count, 1))]
        }.sorted { ($0["relevance_score"] as! Double) > ($1["relevance_score"] as! Double) }
        let top = body["top_n"] as? Int ?? max(scored.count, 1)
        if let refusal = refuse(top, outside: 1...10_000, param: "top_n") { return refusal }
        return json([
            "id": "rerank-mock", "model": model, "results": Array(scored.prefix(top)),
            "usage": ["total_tokens": MockAnswers.tokens(query)],
        ])
    }

    /// A task submission, as Midjourney and Suno proxies answer: an id and a status.
    private func task(_ request: Request, context: MockContext, path: String) async throws -> Response {
        let body = try await readBody(request)
        let model = body["model"] as? String ?? "mock-task"
        let (_, failure) = try await prepare(
            request, context: context, model: model, path: path, errorBody: Self.openAIError)
        if let failure { return failure }
        guard let prompt = body["prompt"] as? String, !prompt.isEmpty else {
            return json(
                ["error": ["message": "prompt is required", "type": "invalid_request_error"]], status: .badRequest)
        }
        return json(["id": "task-\(Int(roll() * 1e9))", "status": "submitted", "prompt": prompt, "model": model])
    }

    /// The value of a text field of a multipart body.
    static func multipartField(_ name: String, in text: String) -> String? {
        guard let header = text.range(of: "name=\"\(name)\"") else { return nil }
        guard let start = text.range(of: "\r\n\r\n", range: header.upperBound..<text.endIndex) else { return nil }
        guard let end = text.range(of: "\r\n--", range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }
}
