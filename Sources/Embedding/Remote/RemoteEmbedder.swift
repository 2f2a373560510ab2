import Foundation

/// An ``Embedder`` that calls an OpenAI-compatible `POST /embeddings` endpoint (OpenAI, Azure OpenAI,
/// vLLM, Ollama, ...), splitting large inputs into batches.
///
/// ```swift
/// let embedder = RemoteEmbedder(
///     baseURL: "https://api.openai.com/v1", model: "text-embedding-3-small", apiKey: key, dimension: 1536,
///     transport: transport)
/// ```
public struct RemoteEmbedder: Embedder {
    public let baseURL: String
    public let model: String
    public let dimension: Int
    public var identity: String? { "remote \(model)" }
    public let batchSize: Int
    public let timeout: Duration
    private let apiKey: String?
    private let transport: any HTTPTransport

    /// - Parameters:
    ///   - baseURL: up to and including the version, e.g. `https://api.openai.com/v1`.
    ///   - dimension: the length of the vectors the model returns; answers of another length are an error.
    ///   - batchSize: inputs per request.
    public init(
        baseURL: String, model: String, apiKey: String?, dimension: Int, batchSize: Int = 96,
        timeout: Duration = .seconds(30), transport: any HTTPTransport
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.model = model
        self.apiKey = apiKey
        self.dimension = dimension
        self.batchSize = max(batchSize, 1)
        self.timeout = timeout
        self.transport = transport
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            vectors += try await embedBatch(Array(texts[start..<min(start + batchSize, texts.count)]))
        }
        return vectors
    }

    private struct Request: Encodable {
        let model: String
        let input: [String]
        let encodingFormat = "float"

        enum CodingKeys: String, CodingKey {
            case model, input
            case encodingFormat = "encoding_format"
        }
    }

    private struct Response: Decodable {
        struct Item: Decodable {
            let index: Int
            let embedding: [Float]
        }
        let data: [Item]
    }

    private func embedBatch(_ texts: [String]) async throws -> [[Float]] {
        var headers = [("Content-Type", "application/json")]
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
        let body = try JSONEncoder().encode(Request(model: model, input: texts))
        let (status, answer) = try await transport.post(
            url: baseURL + "/embeddings", headers: headers, body: Array(body), timeout: timeout)
        guard (200..<300).contains(status) else {
            throw EmbeddingError.remote("\(baseURL)/embeddings answered \(status): \(Self.excerpt(answer))")
        }
        guard let response = try? JSONDecoder().decode(Response.self, from: Data(answer)) else {
            throw EmbeddingError.remote(
                "\(baseURL)/embeddings answered something other than embeddings: \(Self.excerpt(answer))")
        }
        let ordered = response.data.sorted { $0.index < $1.index }
        guard ordered.map(\.index) == Array(0..<texts.count) else {
            throw EmbeddingError.remote("expected \(texts.count) embeddings, got indices \(ordered.map(\.index))")
        }
        return try ordered.map { item in
            guard item.embedding.count == dimension else {
                throw EmbeddingError.remote(
                    "model \(model) returned \(item.embedding.count) dimensions, not \(dimension)")
            }
            return normalized(item.embedding)
        }
    }

    private static func excerpt(_ body: [UInt8]) -> String {
        String(decoding: body.prefix(300), as: UTF8.self)
    }
}
