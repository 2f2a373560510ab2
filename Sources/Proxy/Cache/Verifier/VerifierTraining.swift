import Embedding
import Foundation

/// Fits the verifier: features of labelled pairs, k-fold cross-validation to choose the regularisation and
/// the score threshold on out-of-fold scores, a final fit on all training pairs, and figures on held-out pairs.
public enum VerifierTraining {
    /// Figures of one way of scoring at one threshold.
    public struct Measure: Sendable {
        public let threshold: Double
        public let precision: Double
        public let recall: Double
        public let falseHitRate: Double
    }

    public struct Outcome: Sendable {
        public let verifier: Verifier
        /// Out-of-fold, on the training pairs, at the chosen threshold.
        public let outOfFold: Measure
        /// On the held-out pairs: the verifier at its threshold, and cosine alone at the cosine threshold that
        /// meets the same false-hit rate on the training pairs.
        public let heldOut: Measure?
        public let heldOutCosine: Measure?
    }

    /// The feature vectors of `pairs`, both sides encoded with their token states; kept in `cacheFile` when
    /// given, so a second fit on the same pairs skips the encoding.
    public static func features(
        _ pairs: [LabelledPair], embedder: any TokenEmbedder, cacheFile: String? = nil,
        progress: (Int) -> Void = { _ in }
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
                    encoderRows.append(
                        VerifierFeatures.encoderFeatures(
                            encoded[2 * offset], encoded[2 * offset + 1], vocabulary: embedder.tokenizer.vocabulary))
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

    /// - Parameters:
    ///   - candidateThreshold: the cosine below which a pair never reaches the verifier: the model is fitted on
    ///     the pairs above it, and the others count as rejected in every figure.
    ///   - featureCache: a directory where the features of each pairs file are kept between runs.
    public static func train(
        training: [LabelledPair], trainingFile: String, heldOut: [LabelledPair]?, heldOutFile: String?,
        embedder: any TokenEmbedder,
        folds: Int, maxFalseHitRate: Double, candidateThreshold: Double, epochs: Int, regularisations: [Double],
        featureCache: String?,
        command: String, progress: (String) -> Void
    ) async throws -> Outcome {
        func cacheFile(_ path: String, count: Int) throws -> String? {
            guard let featureCache else { return nil }
            try FileManager.default.createDirectory(atPath: featureCache, withIntermediateDirectories: true)
            let digest = try ModelFiles.sha256(of: URL(fileURLWithPath: path)).prefix(16)
            return "\(featureCache)/encoder-features-\(digest)-\(count).f32"
        }
        progress("encoding \(training.count) training pairs")
        let all = try await features(
            training, embedder: embedder, cacheFile: try cacheFile(trainingFile, count: training.count))
        let eligible = all.indices.filter { Double(all[$0][0]) >= candidateThreshold }
        let rows = eligible.map { all[$0] }
        let eligibleLabels = eligible.map { training[$0].isDuplicate }
        let labels = training.map(\.isDuplicate)
        let vetoed = vetoMask(all)
        func everyPair(_ scores: [Double]) -> [Double] {
            var result = [Double](repeating: 0, count: training.count)
            for (position, index) in eligible.enumerated() where !vetoed[index] { result[index] = scores[position] }
            return result
        }
        var best: (regularisation: Double, measure: Measure)?
        for regularisation in regularisations {
            let scores = everyPair(
                LogisticRegression.outOfFoldScores(
                    rows: rows, labels: eligibleLabels, folds: folds, regularisation: regularisation, epochs: epochs))
            let measure = measure(scores: scores, labels: labels, maxFalseHitRate: maxFalseHitRate)
            progress(
                String(
                    format: "L2 %.0e: out-of-fold recall %.3f at false-hit rate %.3f", regularisation, measure.recall,
                    measure.falseHitRate))
            if best == nil || measure.recall > best!.measure.recall { best = (regularisation, measure) }
        }
        let chosen = best!
        let model = LogisticRegression.fit(
            rows: rows, labels: eligibleLabels, regularisation: chosen.regularisation, epochs: epochs)
        let verifier = Verifier(
            featureNames: VerifierFeatures.names(dimension: embedder.dimension), means: model.means,
            scales: model.scales,
            weights: model.weights, bias: model.bias, threshold: chosen.measure.threshold,
            maxFalseHitRate: maxFalseHitRate,
            candidateThreshold: candidateThreshold, vetoes: Verifier.defaultVetoes,
            provenance: .init(
                trainingFile: URL(fileURLWithPath: trainingFile).lastPathComponent,
                trainingSHA256: try ModelFiles.sha256(of: URL(fileURLWithPath: trainingFile)),
                trainingPairs: training.count, folds: folds, regularisation: chosen.regularisation, epochs: epochs,
                command: command))

        guard let heldOut else {
            return Outcome(verifier: verifier, outOfFold: chosen.measure, heldOut: nil, heldOutCosine: nil)
        }
        progress("encoding \(heldOut.count) held-out pairs")
        let heldOutRows = try await features(
            heldOut, embedder: embedder, cacheFile: try heldOutFile.flatMap { try cacheFile($0, count: heldOut.count) })
        let heldOutLabels = heldOut.map(\.isDuplicate)
        let heldOutScores = floored(
            heldOutRows.map { verifier.score($0) }, rows: heldOutRows, floor: candidateThreshold)
        let verifierMeasure = measure(scores: heldOutScores, labels: heldOutLabels, at: verifier.threshold)
        let cosineThreshold = measure(
            scores: all.map { Double($0[0]) }, labels: labels, maxFalseHitRate: maxFalseHitRate
        ).threshold
        let cosineMeasure = measure(
            scores: heldOutRows.map { Double($0[0]) }, labels: heldOutLabels, at: cosineThreshold)
        return Outcome(
            verifier: verifier, outOfFold: chosen.measure, heldOut: verifierMeasure, heldOutCosine: cosineMeasure)
    }
}

extension VerifierTraining {
    /// The verifier's scores for labelled pairs, the candidate floor applied. When the pairs are the very
    /// ones it was fitted on (same SHA-256), the scores are out-of-fold, refitted with its own settings, so
    /// no figure is measured on data the verifier saw.
    public static func scores(
        for pairs: [LabelledPair], file: String, verifier: Verifier, embedder: any TokenEmbedder, featureCache: String?
    ) async throws -> (scores: [Double], outOfFold: Bool) {
        let digest = try ModelFiles.sha256(of: URL(fileURLWithPath: file))
        var cacheFile: String?
        if let featureCache {
            try FileManager.default.createDirectory(atPath: featureCache, withIntermediateDirectories: true)
            cacheFile = "\(featureCache)/encoder-features-\(digest.prefix(16))-\(pairs.count).f32"
        }
        let rows = try await features(pairs, embedder: embedder, cacheFile: cacheFile)
        guard digest == verifier.provenance.trainingSHA256 else {
            return (floored(rows.map { verifier.score($0) }, rows: rows, floor: verifier.candidateThreshold), false)
        }
        let eligible = rows.indices.filter { Double(rows[$0][0]) >= verifier.candidateThreshold }
        let outOfFold = LogisticRegression.outOfFoldScores(
            rows: eligible.map { rows[$0] }, labels: eligible.map { pairs[$0].isDuplicate },
            folds: verifier.provenance.folds,
            regularisation: verifier.provenance.regularisation, epochs: verifier.provenance.epochs)
        let vetoed = vetoMask(rows)
        var scores = [Double](repeating: 0, count: pairs.count)
        for (position, index) in eligible.enumerated() where !vetoed[index] { scores[index] = outOfFold[position] }
        return (scores, true)
    }
}
