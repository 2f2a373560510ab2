import Embedding
import Foundation

/// The 20 reference sentences with the token ids and embeddings sentence-transformers produced for them.
struct Reference: Decodable {
    struct Sentence: Decodable {
        let text: String
        let tokenIds: [Int32]
        let embedding: [Float]

        enum CodingKeys: String, CodingKey {
            case text
            case tokenIds = "token_ids"
            case embedding
        }
    }

    let sentences: [Sentence]

    static let shared: Reference = {
        let url = Bundle.module.url(forResource: "Fixtures/reference", withExtension: "json")!
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()
}

/// The model fetched by `routershift model fetch` (the test script runs it first).
enum TestModel {
    static let files = ModelFiles(
        directory: URL(
            fileURLWithPath: ProcessInfo.processInfo.environment["ROUTERSHIFT_MODEL_DIR"] ?? ModelFiles.defaultDirectory
        ))

    /// The fp32 reference encoder (`auto` would take int8 on most CPUs).
    static let embedder: LocalEmbedder = {
        do {
            return try LocalEmbedder(files: files, precision: .fp32)
        } catch {
            fatalError("\(error) (tests run from the repository root; ./scripts/test.sh fetches the model)")
        }
    }()
}

func cosine(_ a: [Float], _ b: [Float]) -> Float {
    var dot: Float = 0
    var normA: Float = 0
    var normB: Float = 0
    for (x, y) in zip(a, b) {
        dot += x * y
        normA += x * x
        normB += y * y
    }
    return dot / (normA.squareRoot() * normB.squareRoot())
}
