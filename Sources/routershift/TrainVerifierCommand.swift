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
                Encodes both sides of every pair with the local model, chooses the L2 penalty and the score threshold \
                (the lowest whose false-hit rate is at most --max-false-hit-rate) by k-fold cross-validation on the \
                training pairs, fits on all of them, and reports the verifier and cosine alone on --validate pairs, \
                which it neither fits nor tunes on.
                """)

        @OptionGroup var model: ModelOptions
        @Option(help: "Labelled pairs to fit on (CSV question1,question2,is_duplicate).") var train: String
        @Option(help: "Held-out labelled pairs to report on.") var validate: String?
        @Option(help: "Cross-validation folds.") var folds = 5
        @Option(help: "The false-hit rate the threshold is chosen for.") var maxFalseHitRate = 0.05
        @Option(help: "Gradient steps per fit.") var epochs = 300
        @Option(help: "The cosine below which a candidate never reaches the verifier.") var candidateThreshold = 0.6
        @Option(help: "Where encoded features are kept between runs.") var featureCache =
            ".build-peers/verifier-features"
        @Option(help: "Use only the first N training pairs.") var limit: Int?
        @Option(name: .shortAndLong, help: "Where to write the parameters.") var output = "data/verifier.json"

        func run() async throws {
            let embedder = try LocalEmbedder(
                files: ModelFiles(directory: model.directory), threads: 2)
            var training = try LabelledPair.load(path: train)
            if let limit { training = Array(training.prefix(limit)) }
            let heldOut = try validate.map { try LabelledPair.load(path: $0) }
            let command =
                "routershift cache train-verifier --train \(URL(fileURLWithPath: train).lastPathComponent) --folds \(folds) "
                + "--max-false-hit-rate \(maxFalseHitRate) --candidate-threshold \(candidateThreshold) --epochs \(epochs)"
                + (limit.map { " --limit \($0)" } ?? "")
            let outcome = try await VerifierTraining.train(
                training: training, trainingFile: train, heldOut: heldOut, heldOutFile: validate, embedder: embedder,
                folds: folds,
                maxFalseHitRate: maxFalseHitRate, candidateThreshold: candidateThreshold, epochs: epochs,
                regularisations: [1e-3, 1e-2], featureCache: featureCache, command: command
            ) { FileHandle.standardError.write(Data("train-verifier: \($0)\n".utf8)) }
            try outcome.verifier.write(to: output)
            func line(_ name: String, _ measure: VerifierTraining.Measure?) -> [String] {
                guard let measure else { return [name, "-", "-", "-", "-"] }
                return [
                    name, String(format: "%.3f", measure.threshold), String(format: "%.3f", measure.precision),
                    String(format: "%.3f", measure.recall), String(format: "%.3f", measure.falseHitRate),
                ]
            }
            print(
                "wrote \(output) (L2 \(outcome.verifier.provenance.regularisation), threshold \(outcome.verifier.threshold))"
            )
            printTable(
                ["scoring", "threshold", "precision", "recall", "false-hit rate"],
                [
                    line(
                        "verifier, out-of-fold on \(URL(fileURLWithPath: train).lastPathComponent)", outcome.outOfFold),
                    line("verifier on held-out pairs", outcome.heldOut),
                    line("cosine alone on held-out pairs", outcome.heldOutCosine),
                ])
        }
    }
}
