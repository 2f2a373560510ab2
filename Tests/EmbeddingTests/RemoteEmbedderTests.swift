import Embedding
import Foundation
import Synchronization
import Testing

/// Answers like an OpenAI-compatible /embeddings endpoint and records what it was sent.
final class RecordingTransport: HTTPTransport {
    struct Recorded: Sendable {
        let url: String
        let headers: [(String, String)]
        let body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    let requests = Mutex<[Recorded]>([])
    let answer: @Sendable (_ inputs: [String]) -> (Int, String)

    init(answer: @escaping @Sendable (_ inputs: [String]) -> (Int, String)) {
        self.answer = answer
    }

    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws
        -> (status: Int, body: [UInt8])
    {
        let recorded = Recorded(url: url, headers: headers, body: Data(body))
        requests.withLock { $0.append(recorded) }
        let (status, text) = answer(recorded.json["input"] as? [String] ?? [])
        return (status, Array(text.utf8))
    }
}

@Suite struct RemoteEmbedderTests {
    /// Each input's vector is [length, 1, 0]: easy to check order and normalisation.
    static func vectors(_ inputs: [String]) -> (Int, String) {
        let items = inputs.enumerated().reversed().map { index, text in
            "{\"object\":\"embedding\",\"index\":\(index),\"embedding\":[\(text.count),1,0]}"
        }
        return (200, "{\"object\":\"list\",\"data\":[\(items.joined(separator: ","))],\"model\":\"m\"}")
    }

    @Test func batchesInputsAndKeepsTheirOrder() async throws {
        let transport = RecordingTransport(answer: Self.vectors)
        let embedder = RemoteEmbedder(
            baseURL: "http://127.0.0.1:9/v1/", model: "text-embedding-3-small", apiKey: "sk-test", dimension: 3,
            batchSize: 2, transport: transport)
        let texts = ["a", "bb", "ccc", "dddd", "eeeee"]
        let vectors = try await embedder.embed(texts)
        #expect(vectors.count == 5)
        for (text, vector) in zip(texts, vectors) {
            let norm = (Float(text.count * text.count) + 1).squareRoot()
            #expect(abs(vector[0] - Float(text.count) / norm) < 1e-6)
        }
        let requests = transport.requests.withLock { $0 }
        #expect(requests.count == 3)
        #expect(requests.allSatisfy { $0.url == "http://127.0.0.1:9/v1/embeddings" })
        #expect(requests[0].headers.contains { $0 == ("Authorization", "Bearer sk-test") })
        #expect(requests[0].json["model"] as? String == "text-embedding-3-small")
        #expect(requests[2].json["input"] as? [String] == ["eeeee"])
    }

    @Test func upstreamErrorsAndMalformedAnswersAreReported() async {
        let failing = RemoteEmbedder(
            baseURL: "http://x/v1", model: "m", apiKey: nil, dimension: 3,
            transport: RecordingTransport { _ in (429, "{\"error\":{\"message\":\"slow down\"}}") })
        await #expect(throws: EmbeddingError.self) { try await failing.embed(["a"]) }

        let garbled = RemoteEmbedder(
            baseURL: "http://x/v1", model: "m", apiKey: nil, dimension: 3,
            transport: RecordingTransport { _ in (200, "not json") })
        await #expect(throws: EmbeddingError.self) { try await garbled.embed(["a"]) }

        let wrongSize = RemoteEmbedder(
            baseURL: "http://x/v1", model: "m", apiKey: nil, dimension: 8,
            transport: RecordingTransport(answer: Self.vectors))
        await #expect(throws: EmbeddingError.self) { try await wrongSize.embed(["a"]) }
    }
}
