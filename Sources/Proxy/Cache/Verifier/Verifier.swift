import Foundation

/// A calibrated second opinion on a semantic hit: a logistic regression over ``VerifierFeatures`` that
/// scores how likely a cached prompt asks the same as the new one. Loaded from `data/verifier.json`, which
/// `routershift cache train-verifier` writes.
public struct Verifier: Sendable, Codable, Equatable {
    /// What the model was fitted on and how it measured, for the record.
    public struct Provenance: Sendable, Codable, Equatable {
        public var trainingFile: String
        /// SHA-256 of the training file: `cache bench` uses out-of-fold scores when given these very pairs.
        public var trainingSHA256: String
        public var trainingPairs: Int
        public var folds: Int
        public var regularisation: Double
        public var epochs: Int
        public var command: String

        enum CodingKeys: String, CodingKey {
            case trainingFile = "training_file"
            case trainingSHA256 = "training_sha256"
            case trainingPairs = "training_pairs"
            case folds, regularisation, epochs, command
        }
    }

    public var featureNames: [String]
    public var means: [Float]
    public var scales: [Float]
    public var weights: [Float]
    public var bias: Float
    /// The score at or above which a candidate is served.
    public var threshold: Double
    /// The false-hit rate the threshold was chosen for, on out-of-fold scores of the training pairs.
    public var maxFalseHitRate: Double
    /// The cosine a candidate needs before the verifier looks at it; fitted and measured with it.
    public var candidateThreshold: Double
    /// Features that refuse a pair outright when set, whatever the model says: a negation or a number on
    /// one side only, the same words in another order. Labelled paraphrase data holds too few of these for a
    /// model to learn them, and serving such a hit is the worst thing a cache can do.
    public var vetoes: [String]
    public var provenance: Provenance

    enum CodingKeys: String, CodingKey {
        case featureNames = "feature_names"
        case means, scales, weights, bias, threshold
        case maxFalseHitRate = "max_false_hit_rate"
        case candidateThreshold = "candidate_threshold"
        case vetoes
        case provenance
    }

    /// The features that veto a pair by default.
    public static let defaultVetoes = ["negation_mismatch", "number_mismatch", "same_words_reordered"]

    /// The probability that the pair is a duplicate; zero when a veto feature is set.
    public func score(_ features: [Float]) -> Double {
        for veto in vetoes {
            if let index = featureNames.firstIndex(of: veto), features[index] > 0.5 { return 0 }
        }
        var sum = bias
        for index in weights.indices { sum += weights[index] * (features[index] - means[index]) / scales[index] }
        return 1 / (1 + exp(-Double(sum)))
    }

    public static func load(path: String) throws -> Verifier {
        do {
            return try JSONDecoder().decode(Verifier.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw GatewayError(
                .internalError,
                "The verifier file \(path) is missing or unreadable (\(error)); train it with `scripts/train-verifier.sh` or set "
                    + "cache.verifier.enabled: false.")
        }
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}
