import Embedding
import Foundation

/// Fits the verifier: features of labelled pairs; k-fold cross-validation over a grid of network settings
/// and training lengths, scored by the recall each keeps at the false-hit rate asked for on out-of-fold
/// scores; Platt scaling fitted on the chosen setting's out-of-fold logits; the score threshold chosen on
/// them; a final fit on all training pairs; and figures on held-out pairs.
public enum VerifierTraining {
    /// Figures of one way of scoring at one threshold.
    public struct Measure: Sendable {
        public let threshold: Double
        public let precision: Double
        public let recall: Double
        public let falseHitRate: Double
    }

    /// One network setting and training length, as cross-validation measured it.
    public struct Trial: Sendable {
        public let hidden: [Int]
        public let weightDecay: Double
        public let epochs: Int
        public let outOfFold: Measure
    }

    public struct Outcome: Sendable {
        public let verifier: Verifier
        /// Every setting tried, in order.
        public let trials: [Trial]
        /// Out-of-fold, on the training pairs, at the chosen threshold.
        public let outOfFold: Measure
        /// On the held-out pairs: the verifier at its threshold, and cosine alone at the cosine threshold that
        /// meets the same false-hit rate on the training pairs.
        public let heldOut: Measure?
        public let heldOutCosine: Measure?
        /// On the held-out pairs, each held to the false-hit rate there (thresholds chosen on them: for
        /// comparison with figures reported that way, not for choosing).
        public let heldOutHeld: Measure?
        public let heldOutCosineHeld: Measure?
    }

    /// What to search: the network shapes and weight decays, and the epochs at which each is measured.
    public struct Grid: Sendable {
        public var hidden: [[Int]]
        public var weightDecays: [Double]
        public var epochs: [Int]

        public init(hidden: [[Int]], weightDecays: [Double], epochs: [Int]) {
            self.hidden = hidden
            self.weightDecays = weightDecays
            self.epochs = epochs.sorted()
        }
    }

    /// The feature vectors of `pairs`, both sides encoded with their token states, the second side's as `form`
    /// stores them (it plays the stored candidate); the encoder's part kept in `cacheFile` when given, so a
    /// second fit on the same pairs skips the encoding.
    public static func features(
        _ pairs: [LabelledPair], embedder: any TokenEmbedder, form: TokenStateCoding.Form = .stored,
        cacheFile: String? = nil, progress: (Int) -> Void = { _ in }
    ) async throws -> [[Float]] {
        let width = VerifierFeatures.encoderNames.count + 2 * embedder.dimension
        var encoderRows: [[Float]] = []
        if let cacheFile, let data = FileManager.default.contents(atPath: cacheFile),
            data.count == pairs.count * width * 4
        {
            encoderRows = data.withUnsafeBytes { raw in
                let floats = raw.bindMemory(to: Float.self)
                return (0..<pairs.count).map { Array(floats[$0 * width..<($0 + 1) * width]) }
            }
        } else {
            encoderRows.reserveCapacity(pairs.count)
            let batch = 32
            for start in stride(from: 0, to: pairs.count, by: batch) {
                let slice = pairs[start..<min(start + batch, pairs.count)]
                let encoded = try await embedder.encode(slice.flatMap { [$0.first, $0.second] })
                for offset in slice.indices.map({ $0 - start }) {
                    let vocabulary = embedder.tokenizer.vocabulary
                    let candidate = TokenStateCoding.asStored(
                        encoded[2 * offset + 1], form: form, vocabulary: vocabulary)
                    encoderRows.append(
                        VerifierFeatures.encoderFeatures(encoded[2 * offset], candidate, vocabulary: vocabulary))
                }
                progress(min(start + batch, pairs.count))
            }
            if let cacheFile {
                var data = Data(capacity: encoderRows.count * width * 4)
                for row in encoderRows { row.withUnsafeBytes { data.append(contentsOf: $0) } }
                try? data.write(to: URL(fileURLWithPath: cacheFile))
            }
        }
        // Lexical features are cheap and change more often than the encoder: always computed afresh.
        return zip(pairs, encoderRows).map { pair, row in
            VerifierFeatures.combine(encoder: row, lexical: VerifierFeatures.lexical(pair.first, pair.second))
        }
    }

    /// Where the encoder features of a pairs file are kept: named by the file's digest, the pair count, the
    /// encoder features' layout and the stored form, so a change to any of them encodes afresh.
    static func cacheFile(
        directory: String?, pairsFile: String, count: Int, encoder: String?, form: TokenStateCoding.Form = .stored
    ) throws -> String? {
        guard let directory else { return nil }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let digest = try ModelFiles.sha256(of: URL(fileURLWithPath: pairsFile)).prefix(16)
        // Features of another encoder (model or precision) are other numbers.
        let encoderName = String((encoder ?? "unnamed").map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        return
            "\(directory)/encoder-features-\(digest)-\(count)-e\(VerifierFeatures.encoderNames.count)-\(encoderName)-\(form.rawValue).f32"
    }

    /// Whether each row has a veto feature set.
    static func vetoMask(_ rows: [[Float]]) -> [Bool] {
        let names = VerifierFeatures.scalarNames
        let indices = Verifier.defaultVetoes.compactMap { names.firstIndex(of: $0) }
        return rows.map { row in indices.contains { row[$0] > 0.5 } }
    }

    /// Scores with the candidate floor applied: a pair whose cosine is below it never reaches the verifier.
    static func floored(_ scores: [Double], rows: [[Float]], floor: Double) -> [Double] {
        zip(scores, rows).map { score, row in Double(row[0]) < floor ? 0 : score }
    }

    /// The lowest threshold (on a grid of 0.001) whose false-hit rate is at most `maximum`, and its figures.
    static func measure(scores: [Double], labels: [Bool], maxFalseHitRate maximum: Double) -> Measure {
        let thresholds = (1...999).map { Double($0) / 1000 }
        let report = ThresholdReport(scores: scores, labels: labels, thresholds: thresholds, maxFalseHitRate: maximum)
        let point = report.points.first { $0.falseHitRate <= maximum } ?? report.points.last!
        return Measure(
            threshold: point.threshold, precision: point.precision, recall: point.recall,
            falseHitRate: point.falseHitRate)
    }

    /// Figures of `scores` at a fixed `threshold`.
    static func measure(scores: [Double], labels: [Bool], at threshold: Double) -> Measure {
        let point = ThresholdReport(scores: scores, labels: labels, thresholds: [threshold], maxFalseHitRate: 1).points[
            0]
        return Measure(
            threshold: threshold, precision: point.precision, recall: point.recall, falseHitRate: point.falseHitRate)
    }

    /// Per-feature means and standard deviations, and rows standardised by them into one row-major matrix.
    struct Standardisation {
        var means: [Float]
        var scales: [Float]

        init(_ rows: [[Float]]) {
            let width = rows[0].count
            var means = [Double](repeating: 0, count: width)
            var squares = [Double](repeating: 0, count: width)
            for row in rows { for index in 0..<width { means[index] += Double(row[index]) } }
            for index in 0..<width { means[index] /= Double(rows.count) }
            for row in rows {
                for index in 0..<width { squares[index] += pow(Double(row[index]) - means[index], 2) }
            }
            self.means = means.map { Float($0) }
            scales = squares.map { Float(max(($0 / Double(rows.count)).squareRoot(), 1e-6)) }
        }

        func matrix(_ rows: [[Float]]) -> [Float] {
            var matrix = [Float](repeating: 0, count: rows.count * means.count)
            for (position, row) in rows.enumerated() {
                for index in means.indices {
                    matrix[position * means.count + index] = (row[index] - means[index]) / scales[index]
                }
            }
            return matrix
        }
    }

    /// Out-of-fold logits, one array per epoch in `checkpoints`: each row scored by a network fitted, with
    /// its own standardisation, on the other folds (folds by a seeded shuffle).
    static func outOfFoldLogits(
        rows: [[Float]], labels: [Bool], folds: Int, settings: Perceptron.Settings, checkpoints: [Int]
    ) -> [[Double]] {
        let assignment = foldAssignment(count: rows.count, folds: folds)
        var logits = [[Double]](repeating: [Double](repeating: 0, count: rows.count), count: checkpoints.count)
        for fold in 0..<folds {
            let training = rows.indices.filter { assignment[$0] != fold }
            let testing = rows.indices.filter { assignment[$0] == fold }
            let trainingRows = training.map { rows[$0] }
            let standardisation = Standardisation(trainingRows)
            let networks = Perceptron.fit(
                matrix: standardisation.matrix(trainingRows), count: training.count, width: rows[0].count,
                labels: training.map { labels[$0] }, settings: settings, checkpoints: checkpoints)
            let testMatrix = standardisation.matrix(testing.map { rows[$0] })
            for (checkpoint, network) in networks.enumerated() {
                for (position, value) in network.logits(testMatrix, count: testing.count).enumerated() {
                    logits[checkpoint][testing[position]] = Double(value)
                }
            }
        }
        return logits
    }

    static func foldAssignment(count: Int, folds: Int) -> [Int] {
        var generator = SeededRandom(seed: 2026)
        var order = Array(0..<count)
        order.shuffle(using: &generator)
        var assignment = [Int](repeating: 0, count: count)
        for (position, index) in order.enumerated() { assignment[index] = position % folds }
        return assignment
    }
}
