import Embedding
import Foundation
import GRDB
import Testing

@testable import Proxy

/// `train-verifier --from-labels`: only approved labels are read, they are fitted on with the file's pairs,
/// and a verifier can be measured on pairs it was not fitted on.
@Suite struct TrainFromLabelsTests {
    static let topics = [
        "bake bread", "learn French", "fix a flat tyre", "grow tomatoes", "train a puppy", "write a resume",
        "save money", "start running", "paint a room", "brew coffee", "tie a tie", "study for exams",
    ]

    static func duplicate(_ topic: String) -> LabelledPair {
        LabelledPair(first: "How do I \(topic)?", second: "What is the best way to \(topic)?", isDuplicate: true)
    }

    static func different(_ topic: String, _ other: String) -> LabelledPair {
        LabelledPair(first: "How do I \(topic)?", second: "How do I \(other)?", isDuplicate: false)
    }

    @Test func approvedLabelsAreFittedOnBesideTheFilesPairs() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try GatewayStore(path: folder.appendingPathComponent("gateway.sqlite").path)
        try await store.database.write { db in
            for (index, status) in ["approved", "pending", "approved", "approved"].enumerated() {
                var label = CacheLabel(
                    source: "feedback", requestID: "req_\(index)", keyID: "key",
                    prompt: "How do I \(Self.topics[index])?",
                    matchedPrompt: "How can I \(Self.topics[index])?", entryID: 1, correct: index != 2,
                    similarity: 0.9, verifierScore: nil, status: status, withdrawnFor: nil, createdAt: 0)
                try label.insert(db)
            }
        }
        let approved = try SemanticCache.approvedPairs(in: store)
        #expect(approved.map(\.isDuplicate) == [true, false, true])
        #expect(approved.first?.second == "How can I bake bread?")

        let pairs = Self.topics.indices.flatMap { index in
            [Self.duplicate(Self.topics[index]), Self.different(Self.topics[index], Self.topics[(index + 5) % 12])]
        }
        let file = folder.appendingPathComponent("pairs.csv")
        let csv =
            "question1,question2,is_duplicate\n"
            + pairs.map { "\"\($0.first)\",\"\($0.second)\",\($0.isDuplicate ? 1 : 0)" }.joined(separator: "\n")
        try csv.write(to: file, atomically: true, encoding: .utf8)
        let training = try LabelledPair.load(path: file.path)
        #expect(training.count == 24)

        let embedder = try LocalEmbedder(
            files: ModelFiles(directory: URL(fileURLWithPath: "data/models/all-MiniLM-L6-v2")), threads: 1,
            verifyChecksum: false, precision: .fp32)
        let outcome = try await VerifierTraining.train(
            training: training, trainingFile: file.path, approvedLabels: approved, heldOut: nil, heldOutFile: nil,
            embedder: embedder, folds: 2, maxFalseHitRate: 0.2, candidateThreshold: 0,
            grid: .init(hidden: [[]], weightDecays: [0.05], epochs: [3]), featureCache: nil, command: "test"
        ) { _ in }
        #expect(outcome.verifier.provenance?.trainingPairs == 24)
        #expect(outcome.verifier.provenance?.labelPairs == 3)

        let heldOut = [Self.duplicate("make pancakes"), Self.different("make pancakes", "learn to swim")]
        let measure = try await VerifierTraining.evaluate(outcome.verifier, on: heldOut, embedder: embedder)
        #expect((0...1).contains(measure.recall) && (0...1).contains(measure.falseHitRate))
        #expect(measure.threshold == outcome.verifier.threshold)
    }
}
