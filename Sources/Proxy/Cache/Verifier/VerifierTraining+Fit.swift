import Embedding
import Foundation

extension VerifierTraining {
    /// - Parameters:
    ///   - candidateThreshold: the cosine below which a pair never reaches the verifier: the model is fitted on
    ///     the pairs above it, and the others count as rejected in every figure.
    ///   - featureCache: a directory where the encoder features of each pairs file are kept between runs.
    /// - Parameter approvedLabels: pairs the gateway collected (feedback the master key approved), fitted on
    ///   with `training`; their features are computed afresh, the file's come from the feature cache.
    public static func train(
        training file: [LabelledPair], trainingFile: String, approvedLabels: [LabelledPair] = [],
        heldOut: [LabelledPair]?, heldOutFile: String?, embedder: any TokenEmbedder, folds: Int,
        maxFalseHitRate: Double, candidateThreshold: Double, grid: Grid, featureCache: String?,
        form: TokenStateCoding.Form = .stored, command: String, progress: (String) -> Void
    ) async throws -> Outcome {
        progress(
            "encoding \(file.count) training pairs"
                + (approvedLabels.isEmpty ? "" : " and \(approvedLabels.count) approved labels"))
        let fileRows = try await features(
            file, embedder: embedder, form: form,
            cacheFile: try cacheFile(
                directory: featureCache, pairsFile: trainingFile, count: file.count, encoder: embedder.identity,
                form: form))
        let labelRows =
            approvedLabels.isEmpty ? [] : try await features(approvedLabels, embedder: embedder, form: form)
        let training = file + approvedLabels
        let all = fileRows + labelRows
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
        var trials: [Trial] = []
        var best: (trial: Trial, settings: Perceptron.Settings, calibration: PlattScaling)?
        for hidden in grid.hidden {
            for weightDecay in grid.weightDecays {
                let settings = Perceptron.Settings(hidden: hidden, weightDecay: Float(weightDecay))
                let logits = outOfFoldLogits(
                    rows: rows, labels: eligibleLabels, folds: folds, settings: settings, checkpoints: grid.epochs)
                for (checkpoint, epochs) in grid.epochs.enumerated() {
                    let calibration = PlattScaling.fit(logits: logits[checkpoint], labels: eligibleLabels)
                    let scores = everyPair(logits[checkpoint].map(calibration.probability))
                    let trial = Trial(
                        hidden: hidden, weightDecay: weightDecay, epochs: epochs,
                        outOfFold: measure(scores: scores, labels: labels, maxFalseHitRate: maxFalseHitRate))
                    trials.append(trial)
                    progress(
                        "hidden \(hidden), "
                            + String(
                                format: "weight decay %.0e, %d epochs: out-of-fold recall %.3f at false-hit rate %.3f",
                                weightDecay, epochs, trial.outOfFold.recall, trial.outOfFold.falseHitRate))
                    if best == nil || trial.outOfFold.recall > best!.trial.outOfFold.recall {
                        best = (trial: trial, settings: settings, calibration: calibration)
                    }
                }
            }
        }
        let chosen = best!
        let standardisation = Standardisation(rows)
        let network = Perceptron.fit(
            matrix: standardisation.matrix(rows), count: rows.count, width: rows[0].count, labels: eligibleLabels,
            settings: chosen.settings, checkpoints: [chosen.trial.epochs])[0]
        let verifier = Verifier(
            featureNames: VerifierFeatures.names(dimension: embedder.dimension), means: standardisation.means,
            scales: standardisation.scales, layers: network.layers, calibration: chosen.calibration,
            threshold: chosen.trial.outOfFold.threshold, maxFalseHitRate: maxFalseHitRate,
            candidateThreshold: candidateThreshold, vetoes: Verifier.defaultVetoes,
            provenance: .init(
                trainingFile: URL(fileURLWithPath: trainingFile).lastPathComponent,
                trainingSHA256: try ModelFiles.sha256(of: URL(fileURLWithPath: trainingFile)),
                trainingPairs: file.count, labelPairs: approvedLabels.isEmpty ? nil : approvedLabels.count,
                folds: folds, hidden: chosen.settings.hidden,
                weightDecay: chosen.trial.weightDecay, learningRate: Double(chosen.settings.learningRate),
                batchSize: chosen.settings.batchSize, epochs: chosen.trial.epochs, seed: chosen.settings.seed,
                command: command))

        guard let heldOut else {
            return Outcome(
                verifier: verifier, trials: trials, outOfFold: chosen.trial.outOfFold, heldOut: nil, heldOutCosine: nil,
                heldOutHeld: nil, heldOutCosineHeld: nil)
        }
        progress("encoding \(heldOut.count) held-out pairs")
        let heldOutRows = try await features(
            heldOut, embedder: embedder, form: form,
            cacheFile: try heldOutFile.flatMap {
                try cacheFile(
                    directory: featureCache, pairsFile: $0, count: heldOut.count, encoder: embedder.identity, form: form
                )
            })
        let heldOutLabels = heldOut.map(\.isDuplicate)
        let heldOutScores = floored(
            heldOutRows.map { verifier.score($0) }, rows: heldOutRows, floor: candidateThreshold)
        let cosineThreshold = measure(
            scores: all.map { Double($0[0]) }, labels: labels, maxFalseHitRate: maxFalseHitRate
        ).threshold
        let heldOutCosines = heldOutRows.map { Double($0[0]) }
        return Outcome(
            verifier: verifier, trials: trials, outOfFold: chosen.trial.outOfFold,
            heldOut: measure(scores: heldOutScores, labels: heldOutLabels, at: verifier.threshold),
            heldOutCosine: measure(scores: heldOutCosines, labels: heldOutLabels, at: cosineThreshold),
            heldOutHeld: measure(scores: heldOutScores, labels: heldOutLabels, maxFalseHitRate: maxFalseHitRate),
            heldOutCosineHeld: measure(scores: heldOutCosines, labels: heldOutLabels, maxFalseHitRate: maxFalseHitRate))
    }

    /// The figures of `verifier` at its own threshold on `pairs` (none of which it was fitted on): what
    /// `train-verifier --from-labels` reports before and after on the labels it held out.
    ///
    /// - Throws: if the verifier uses a feature this build does not compute.
    public static func evaluate(
        _ verifier: Verifier, on pairs: [LabelledPair], embedder: any TokenEmbedder,
        form: TokenStateCoding.Form = .stored
    ) async throws -> Measure {
        let computed = try await features(pairs, embedder: embedder, form: form)
        guard let positions = verifier.positions(in: VerifierFeatures.names(dimension: embedder.dimension)) else {
            throw GatewayError.invalid("the verifier uses features this build does not compute; train it again")
        }
        let scores = floored(
            computed.map { row in verifier.score(positions.map { row[$0] }) }, rows: computed,
            floor: verifier.candidateThreshold)
        return measure(scores: scores, labels: pairs.map(\.isDuplicate), at: verifier.threshold)
    }

    /// The verifier's scores for labelled pairs, the candidate floor applied. When the pairs are the very
    /// ones it was fitted on (same SHA-256), the scores are out-of-fold, refitted with its own settings, so
    /// no figure is measured on data the verifier saw.
    ///
    /// - Throws: if the verifier uses a feature this build does not compute.
    public static func scores(
        for pairs: [LabelledPair], file: String, verifier: Verifier, embedder: any TokenEmbedder, featureCache: String?,
        form: TokenStateCoding.Form = .stored
    ) async throws -> (scores: [Double], outOfFold: Bool) {
        let digest = try ModelFiles.sha256(of: URL(fileURLWithPath: file))
        let computed = try await features(
            pairs, embedder: embedder, form: form,
            cacheFile: try cacheFile(
                directory: featureCache, pairsFile: file, count: pairs.count, encoder: embedder.identity, form: form))
        guard let positions = verifier.positions(in: VerifierFeatures.names(dimension: embedder.dimension)) else {
            throw GatewayError.invalid("the verifier uses features this build does not compute; train it again")
        }
        let rows = computed.map { row in positions.map { row[$0] } }
        guard let provenance = verifier.provenance, digest == provenance.trainingSHA256 else {
            return (
                floored(rows.map { verifier.score($0) }, rows: computed, floor: verifier.candidateThreshold), false
            )
        }
        let eligible = rows.indices.filter { Double(computed[$0][0]) >= verifier.candidateThreshold }
        let settings = Perceptron.Settings(
            hidden: provenance.hidden, weightDecay: Float(provenance.weightDecay),
            learningRate: Float(provenance.learningRate), batchSize: provenance.batchSize, seed: provenance.seed)
        let logits = outOfFoldLogits(
            rows: eligible.map { rows[$0] }, labels: eligible.map { pairs[$0].isDuplicate }, folds: provenance.folds,
            settings: settings, checkpoints: [provenance.epochs])[0]
        let vetoed = vetoMask(computed)
        var scores = [Double](repeating: 0, count: pairs.count)
        for (position, index) in eligible.enumerated() where !vetoed[index] {
            scores[index] = verifier.calibration.probability(logits[position])
        }
        return (scores, true)
    }
}
