import AsyncHTTPClient
import Embedding
import Foundation
import NIOCore
import Tokenizer

/// A prompt the cache benchmarks store, and the paraphrase that should hit it.
struct CachePrompt: Sendable {
    let origin: String
    let paraphrase: String
    let tokens: Int
}

/// The prompts of the cache benchmarks, and the request that asks one.
struct CachePrompts {
    let tokenizer: WordPieceTokenizer
    let all: [CachePrompt]

    /// The pairs of `file` (JSON [{origin, similar}]), tokenised with the model in `modelDir`.
    init(file: String, modelDir: String) throws {
        guard
            let items = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file)))
                as? [[String: Any]]
        else {
            throw BenchmarkError("\(file): expected a JSON array of {origin, similar}")
        }
        let tokenizer = WordPieceTokenizer(
            vocabulary: try Vocabulary(contentsOf: URL(fileURLWithPath: modelDir).appendingPathComponent("vocab.txt")))
        self.tokenizer = tokenizer
        all = items.compactMap { item -> CachePrompt? in
            guard let origin = item["origin"] as? String, let similar = item["similar"] as? String, origin != similar
            else { return nil }
            return CachePrompt(origin: origin, paraphrase: similar, tokens: tokenizer.encode(origin).count)
        }
    }

    /// The `count` pairs whose prompt is nearest `tokens` tokens long.
    func nearest(tokens: Int, count: Int) -> [CachePrompt] {
        Array(all.sorted { abs($0.tokens - tokens) < abs($1.tokens - tokens) }.prefix(count))
    }

    /// `count` long pairs of at least `tokens` tokens: consecutive prompts joined into one (and their
    /// paraphrases, in the same order), each pair used once.
    func joined(reaching tokens: Int, count: Int) -> [CachePrompt] {
        var result: [CachePrompt] = []
        var origins: [String] = []
        var paraphrases: [String] = []
        for pair in all where result.count < count {
            origins.append(pair.origin)
            paraphrases.append(pair.paraphrase)
            let origin = origins.joined(separator: " ")
            let length = tokenizer.encode(origin).count
            guard length >= tokens else { continue }
            result.append(CachePrompt(origin: origin, paraphrase: paraphrases.joined(separator: " "), tokens: length))
            origins.removeAll()
            paraphrases.removeAll()
        }
        return result
    }

    /// A chat completion asking `text` of the `bench` group at `base`, with the master key; `storing: false`
    /// asks the cache not to store a miss (`x-routershift-cache: no-store`).
    static func chatRequest(_ base: String, _ text: String, storing: Bool = true) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: base + "/v1/chat/completions")
        if !storing { request.headers.add(name: "x-routershift-cache", value: "no-store") }
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer sk-bench-master-key")
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = try! JSONSerialization.data(withJSONObject: [
            "model": "bench", "messages": [["role": "user", "content": text]],
        ])
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// Asks `text` at `base`: the latency in milliseconds and the gateway's cache outcome (`miss` without one).
    static func ask(_ base: String, _ text: String, storing: Bool = true, client: HTTPClient) async throws -> (
        milliseconds: Double, outcome: String
    ) {
        let begin = DispatchTime.now().uptimeNanoseconds
        let response = try await client.execute(chatRequest(base, text, storing: storing), timeout: .seconds(60))
        _ = try await response.body.collect(upTo: 1 << 24)
        guard response.status == .ok else {
            throw BenchmarkError("\(base) answered \(response.status.code) to a chat completion")
        }
        return (
            Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6,
            response.headers.first(name: "x-routershift-cache") ?? "miss"
        )
    }
}
