import Foundation
import Testing

@testable import Proxy

/// The verifier file: version 2 round-trips, version 1 (a logistic regression) still reads and scores as it
/// did, and a file that is not whole is refused with a message that says what to do.
@Suite struct VerifierFormatTests {
    static func write(_ object: [String: Any]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("verifier-\(UUID().uuidString).json")
            .path
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    static var legacy: [String: Any] {
        [
            "feature_names": ["cosine", "negation_mismatch"], "means": [0.5, 0], "scales": [0.25, 1],
            "weights": [2, -1], "bias": 0.5, "threshold": 0.6, "max_false_hit_rate": 0.05, "candidate_threshold": 0.6,
            "vetoes": ["negation_mismatch"],
            "provenance": ["training_file": "qqp-train.csv", "training_sha256": "00", "training_pairs": 1, "folds": 5],
        ]
    }

    @Test func aVersionOneFileScoresAsTheLogisticRegressionItWas() throws {
        let path = try Self.write(Self.legacy)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let verifier = try Verifier.load(path: path)
        #expect(verifier.formatVersion == 1 && verifier.provenance == nil)
        // sigmoid(0.5 + 2 * (0.75 - 0.5) / 0.25) = sigmoid(2.5)
        #expect(abs(verifier.score([0.75, 0]) - 1 / (1 + exp(-2.5))) < 1e-6)
        #expect(verifier.score([0.75, 1]) == 0, "a veto refuses the pair")
    }

    @Test func aVersionTwoFileRoundTrips() throws {
        let verifier = Verifier(
            featureNames: ["cosine", "negation_mismatch"], means: [0.5, 0], scales: [0.25, 1],
            layers: [
                DenseLayer(inputs: 2, outputs: 2, weights: [1, 0, 0, 1], biases: [0, 0]),
                DenseLayer(inputs: 2, outputs: 1, weights: [1, -1], biases: [0.1]),
            ],
            calibration: PlattScaling(slope: 0.5, intercept: -0.2), threshold: 0.7, maxFalseHitRate: 0.05,
            candidateThreshold: 0.6, vetoes: Verifier.defaultVetoes.filter { $0 == "negation_mismatch" },
            provenance: .init(
                trainingFile: "qqp-train.csv", trainingSHA256: "00", trainingPairs: 1, folds: 5, hidden: [2],
                weightDecay: 1e-4, learningRate: 1e-3, batchSize: 128, epochs: 8, seed: 2026, command: "test"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("verifier-\(UUID().uuidString).json")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try verifier.write(to: path)
        let read = try Verifier.load(path: path)
        #expect(read == verifier && read.formatVersion == 2)
        // ReLU(1) - ReLU(0) + 0.1 = 1.1, then sigmoid(0.5 * 1.1 - 0.2).
        #expect(abs(read.score([0.75, 0]) - 1 / (1 + exp(-0.35))) < 1e-6)
    }

    @Test(arguments: [
        ("format_version", "3", "format_version 3"),
        ("weights", "[2]", "inconsistent"),
        ("threshold", "1.5", "outside [0, 1]"),
        ("scales", "[0.25, 0]", "not positive"),
        ("vetoes", "[\"no_such_feature\"]", "veto no_such_feature"),
    ])
    func aBadFileIsRefusedWithAClearMessage(field: String, value: String, message: String) throws {
        var object = Self.legacy
        object[field] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
        let path = try Self.write(object)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try Verifier.load(path: path)
            Issue.record("\(field) = \(value) was accepted")
        } catch let error as GatewayError {
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.message.contains("train-verifier"))
        }
    }
}
