import Foundation

/// A calibrated second opinion on a semantic hit: a small network over ``VerifierFeatures`` whose
/// Platt-scaled output is the probability that a cached prompt asks the same as the new one. Loaded from
/// `data/verifier.json`, which `routershift cache train-verifier` writes.
///
/// The file is versioned (`format_version`): version 2 is the network with its calibration; a file without a
/// version is read as version 1, the logistic regression of earlier releases (one layer, no calibration).
public struct Verifier: Sendable, Codable, Equatable {
    /// The version this build writes.
    public static let currentFormatVersion = 2

    /// What the model was fitted on, how, and how it measured, for the record.
    public struct Provenance: Sendable, Codable, Equatable {
        public var trainingFile: String
        /// SHA-256 of the training file: `cache bench` uses out-of-fold scores when given these very pairs.
        public var trainingSHA256: String
        public var trainingPairs: Int
        /// Labelled pairs the gateway collected, fitted on besides the file's; nil when none were.
        public var labelPairs: Int?
        public var folds: Int
        /// Hidden layer widths; empty for a logistic regression.
        public var hidden: [Int]
        public var weightDecay: Double
        public var learningRate: Double
        public var batchSize: Int
        public var epochs: Int
        public var seed: UInt64
        public var command: String

        enum CodingKeys: String, CodingKey {
            case trainingFile = "training_file"
            case trainingSHA256 = "training_sha256"
            case trainingPairs = "training_pairs"
            case labelPairs = "label_pairs"
            case weightDecay = "weight_decay"
            case learningRate = "learning_rate"
            case batchSize = "batch_size"
            case folds, hidden, epochs, seed, command
        }
    }

    public var formatVersion: Int
    public var featureNames: [String]
    public var means: [Float]
    public var scales: [Float]
    /// Dense layers, ReLU between them; the last gives one logit.
    public var layers: [DenseLayer]
    /// Maps the logit to a probability, fitted on out-of-fold logits.
    public var calibration: PlattScaling
    /// The probability at or above which a candidate is served.
    public var threshold: Double
    /// The false-hit rate the threshold was chosen for, on out-of-fold scores of the training pairs.
    public var maxFalseHitRate: Double
    /// The cosine a candidate needs before the verifier looks at it; fitted and measured with it.
    public var candidateThreshold: Double
    /// Features that refuse a pair outright when set, whatever the model says: a negation or a number on
    /// one side only, the same words in another order. Labelled paraphrase data holds too few of these for a
    /// model to learn them, and serving such a hit is the worst thing a cache can do.
    public var vetoes: [String]
    /// nil in version 1 files.
    public var provenance: Provenance?

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case featureNames = "feature_names"
        case means, scales, layers, calibration, threshold
        case maxFalseHitRate = "max_false_hit_rate"
        case candidateThreshold = "candidate_threshold"
        case vetoes, provenance
    }

    /// The fields of a version 1 file that differ: one weight vector and a bias.
    private enum LegacyKeys: String, CodingKey { case weights, bias }

    /// The features that veto a pair by default.
    public static let defaultVetoes = ["negation_mismatch", "number_mismatch", "same_words_reordered"]

    init(
        featureNames: [String], means: [Float], scales: [Float], layers: [DenseLayer], calibration: PlattScaling,
        threshold: Double, maxFalseHitRate: Double, candidateThreshold: Double, vetoes: [String],
        provenance: Provenance?
    ) {
        formatVersion = Self.currentFormatVersion
        self.featureNames = featureNames
        self.means = means
        self.scales = scales
        self.layers = layers
        self.calibration = calibration
        self.threshold = threshold
        self.maxFalseHitRate = maxFalseHitRate
        self.candidateThreshold = candidateThreshold
        self.vetoes = vetoes
        self.provenance = provenance
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try container.decodeIfPresent(Int.self, forKey: .formatVersion) ?? 1
        featureNames = try container.decode([String].self, forKey: .featureNames)
        means = try container.decode([Float].self, forKey: .means)
        scales = try container.decode([Float].self, forKey: .scales)
        threshold = try container.decode(Double.self, forKey: .threshold)
        maxFalseHitRate = try container.decode(Double.self, forKey: .maxFalseHitRate)
        candidateThreshold = try container.decode(Double.self, forKey: .candidateThreshold)
        vetoes = try container.decode([String].self, forKey: .vetoes)
        switch formatVersion {
        case 1:
            let legacy = try decoder.container(keyedBy: LegacyKeys.self)
            let weights = try legacy.decode([Float].self, forKey: .weights)
            let bias = try legacy.decode(Float.self, forKey: .bias)
            layers = [DenseLayer(inputs: weights.count, outputs: 1, weights: weights, biases: [bias])]
            calibration = .identity
            provenance = nil
        case Self.currentFormatVersion:
            layers = try container.decode([DenseLayer].self, forKey: .layers)
            calibration = try container.decode(PlattScaling.self, forKey: .calibration)
            provenance = try container.decode(Provenance.self, forKey: .provenance)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .formatVersion, in: container,
                debugDescription:
                    "format_version \(formatVersion) is not one this build reads (1 or \(Self.currentFormatVersion))")
        }
    }

    /// What is wrong with the parameters, if anything: shapes that do not chain from the features to one
    /// logit, values that are not finite, a threshold outside [0, 1].
    public var problem: String? {
        let width = featureNames.count
        guard width > 0, means.count == width, scales.count == width else {
            return "\(featureNames.count) feature names but \(means.count) means and \(scales.count) scales"
        }
        guard !layers.isEmpty, layers.last?.outputs == 1 else { return "the last layer must give one logit" }
        var inputs = width
        for (position, layer) in layers.enumerated() {
            guard layer.inputs == inputs, layer.outputs > 0, layer.weights.count == layer.inputs * layer.outputs,
                layer.biases.count == layer.outputs
            else { return "layer \(position) does not take \(inputs) inputs with a full weight matrix" }
            inputs = layer.outputs
        }
        let values = means + scales + layers.flatMap { $0.weights + $0.biases }
        guard values.allSatisfy(\.isFinite), scales.allSatisfy({ $0 > 0 }),
            calibration.slope.isFinite, calibration.intercept.isFinite
        else { return "non-finite parameters or a scale that is not positive" }
        guard (0...1).contains(threshold), (0...1).contains(candidateThreshold) else {
            return "threshold \(threshold) or candidate threshold \(candidateThreshold) outside [0, 1]"
        }
        if let unknown = vetoes.first(where: { !featureNames.contains($0) }) { return "veto \(unknown) is no feature" }
        return nil
    }

    /// The probability that the pair is a duplicate; zero when a veto feature is set. `features` are in the
    /// order of ``featureNames``.
    public func score(_ features: [Float]) -> Double {
        precondition(features.count == featureNames.count, "\(features.count) features for \(featureNames.count) names")
        for veto in vetoes {
            if let index = featureNames.firstIndex(of: veto), features[index] > 0.5 { return 0 }
        }
        let standardised = features.indices.map { (features[$0] - means[$0]) / scales[$0] }
        return calibration.probability(Double(Perceptron(layers: layers).logit(standardised)))
    }

    /// The positions of this verifier's features in rows laid out by `names`, nil if one is missing: a
    /// verifier fitted on fewer features can score rows computed with more.
    public func positions(in names: [String]) -> [Int]? {
        let lookup = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let positions = featureNames.compactMap { lookup[$0] }
        return positions.count == featureNames.count ? positions : nil
    }

    public static func load(path: String) throws -> Verifier {
        let verifier: Verifier
        do {
            verifier = try JSONDecoder().decode(Verifier.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw GatewayError(
                .internalError,
                "The verifier file \(path) is missing or unreadable (\(error)); train it with `scripts/train-verifier.sh` or set "
                    + "cache.verifier.enabled: false.")
        }
        if let problem = verifier.problem {
            throw GatewayError(
                .internalError,
                "The verifier file \(path) is inconsistent (\(problem)); train it again with `scripts/train-verifier.sh` "
                    + "or set cache.verifier.enabled: false.")
        }
        return verifier
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}
