import ArgumentParser
import Embedding
import Foundation
import Proxy

extension CacheCommand {
    struct TrainVerifier: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train-verifier",
            abstract: "Fit the semantic-hit verifier on labelled pairs and write its parameters (data/verifier.json).",
            discussion: """
                Encodes both sides of every pair with the local model; chooses the network shape, weight decay and \
                training length by k-fold cross-validation on the training pairs (the recall each keeps at \
                --max-false-hit-rate on out-of-fold scores); calibrates the chosen one by Platt scaling on its \
                out-of-fold logits and picks the threshold there (the lowest whose false-hit rate is at most \
                --max-false-hit-rate); fits it on all training pairs; and reports the verifier and cosine alone on \
                --validate pairs, which it neither fits nor tunes on. With --from-labels it fits on the labelled \
                pairs the gateway collected too (feedback the master key approved, read from the database of -c), \
                holds every fifth of them out, and reports the verifier in force and the new one on those; \
                `kill -HUP` (or POST /admin/config/reload) then loads the file written.
                """)

        @OptionGroup var model: ModelOptions
        @OptionGroup var options: ConfigOptions
        @Flag(help: "Fit on the approved labels in the gateway's database too, holding a fifth of them out.")
        var fromLabels = false
        @Option(help: "Labelled pairs to fit on (CSV question1,question2,is_duplicate).") var train: String
        @Option(help: "Held-out labelled pairs to report on.") var validate: String?
        @Option(help: "Cross-validation folds.") var folds = 5
        @Option(help: "The false-hit rate the threshold is chosen for.") var maxFalseHitRate = 0.05
        @Option(
            help:
                "Hidden layer widths to try, ';' between shapes, 'x' between layers ('none' for a logistic regression)."
        )
        var hidden = "none;64"
        @Option(help: "Decoupled weight decays to try (per step, times the learning rate), comma-separated.")
        var weightDecays = "0.05"
        @Option(help: "Epochs at which each setting is measured, comma-separated.") var epochs = "3,6,10"
        @Option(help: "The cosine below which a candidate never reaches the verifier.") var candidateThreshold = 0.6
        @Option(help: "Where encoded features are kept between runs.") var featureCache =
            ".build-peers/verifier-features"
        @Option(help: "Use only the first N training pairs.") var limit: Int?
        @Option(name: .shortAndLong, help: "Where to write the parameters.") var output = "data/verifier.json"
        @Option(help: "The form the candidates' token states are stored in, as the cache would store them.")
        var storedForm = TokenStateCoding.Form.stored

        func run() async throws {
            let grid = VerifierTraining.Grid(
                hidden: try hidden.split(separator: ";").map(shape),
                weightDecays: try numbers(weightDecays, "--weight-decays"),
                epochs: try numbers(epochs, "--epochs").map { Int($0) })
            guard !grid.hidden.isEmpty, !grid.weightDecays.isEmpty, grid.epochs.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("give at least one hidden shape, weight decay and positive epoch count")
            }
            let embedder = try LocalEmbedder(
                files: ModelFiles(directory: model.directory), threads: 2)
            var training = try LabelledPair.load(path: train)
            if let limit { training = Array(training.prefix(limit)) }
            let heldOut = try validate.map { try LabelledPair.load(path: $0) }
            var labels: (fit: [LabelledPair], heldOut: [LabelledPair]) = ([], [])
            var inForce: Verifier?
            if fromLabels {
                let configuration = try options.loadWithoutSecrets()
                let approved = try SemanticCache.approvedPairs(in: try options.openStore(configuration))
                guard !approved.isEmpty else {
                    throw ValidationError("no approved labels in \(configuration.databasePath): review them first")
                }
                labels = (
                    approved.enumerated().filter { $0.offset % 5 != 4 }.map(\.element),
                    approved.enumerated().filter { $0.offset % 5 == 4 }.map(\.element)
                )
                inForce = try Verifier.load(file: configuration.cache.verifier.file)
            }
            let command =
                "routershift cache train-verifier --train \(URL(fileURLWithPath: train).lastPathComponent) --folds \(folds) "
                + "--max-false-hit-rate \(maxFalseHitRate) --candidate-threshold \(candidateThreshold) "
                + "--hidden '\(hidden)' --weight-decays \(weightDecays) --epochs \(epochs)"
                + (storedForm == TokenStateCoding.Form.stored ? "" : " --stored-form \(storedForm.rawValue)")
                + (limit.map { " --limit \($0)" } ?? "")
                + (fromLabels ? " --from-labels (\(labels.fit.count) approved labels)" : "")
            let outcome = try await VerifierTraining.train(
                training: training, trainingFile: train, approvedLabels: labels.fit, heldOut: heldOut,
                heldOutFile: validate, embedder: embedder,
                folds: folds, maxFalseHitRate: maxFalseHitRate, candidateThreshold: candidateThreshold, grid: grid,
                featureCache: featureCache, form: storedForm, command: command
            ) { FileHandle.standardError.write(Data("train-verifier: \($0)\n".utf8)) }
            try outcome.verifier.write(to: output)
            func line(_ name: String, _ measure: VerifierTraining.Measure?) -> [String] {
                guard let measure else { return [name, "-", "-", "-", "-"] }
                return [
                    name, String(format: "%.3f", measure.threshold), String(format: "%.3f", measure.precision),
                    String(format: "%.3f", measure.recall), String(format: "%.3f", measure.falseHitRate),
                ]
            }
            var labelRows: [[String]] = []
            if let inForce, !labels.heldOut.isEmpty {
                let before = try await VerifierTraining.evaluate(
                    inForce, on: labels.heldOut, embedder: embedder, form: storedForm)
                let after = try await VerifierTraining.evaluate(
                    outcome.verifier, on: labels.heldOut, embedder: embedder, form: storedForm)
                labelRows = [
                    line("verifier in force on \(labels.heldOut.count) held-out labels", before),
                    line("new verifier on \(labels.heldOut.count) held-out labels", after),
                ]
            }
            let provenance = outcome.verifier.provenance!
            print(
                "wrote \(output) (hidden \(provenance.hidden), weight decay \(provenance.weightDecay), "
                    + "\(provenance.epochs) epochs, threshold \(outcome.verifier.threshold))")
            printTable(
                ["scoring", "threshold", "precision", "recall", "false-hit rate"],
                [
                    line(
                        "verifier, out-of-fold on \(URL(fileURLWithPath: train).lastPathComponent)", outcome.outOfFold),
                    line("verifier on held-out pairs", outcome.heldOut),
                    line("cosine alone on held-out pairs", outcome.heldOutCosine),
                    line("verifier held to the rate on held-out pairs", outcome.heldOutHeld),
                    line("cosine held to the rate on held-out pairs", outcome.heldOutCosineHeld),
                ] + labelRows)
            if fromLabels, labels.heldOut.isEmpty {
                print("fewer than 5 approved labels: none held out, so no before and after figures")
            }
        }

        /// Hidden layer widths from `64x32`; none from `none`.
        private func shape(_ text: Substring) throws -> [Int] {
            if text == "none" { return [] }
            return try text.split(separator: "x").map {
                guard let width = Int($0), width > 0 else { throw ValidationError("bad --hidden \(hidden)") }
                return width
            }
        }

        private func numbers(_ list: String, _ option: String) throws -> [Double] {
            try list.split(separator: ",").map {
                guard let value = Double($0.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                    throw ValidationError("bad \(option) \(list)")
                }
                return value
            }
        }
    }
}
