import ArgumentParser
import Embedding
import Foundation
import Proxy

extension CacheCommand {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tune the similarity threshold on labelled pairs, or replay a stream of prompts.",
            discussion: """
                --pairs reads a CSV (question1,question2,is_duplicate) or a JSON array of {origin, similar} positives, \
                embeds them with the embedder the configuration names, and prints for thresholds 0.70 to 0.98 the \
                precision, recall, F1 and false-hit rate (wrong hits over all non-duplicate pairs), then the average \
                precision and the recommended threshold: the lowest whose false-hit rate is at most \
                --max-false-hit-rate. --replay reads prompts, one a line with an optional tab-separated cluster id, and \
                prints the hit rate (and wrong-hit rate) each threshold would have given.
                """)

        @OptionGroup var options: ConfigOptions
        @Option(help: "Labelled pairs: CSV or JSON.") var pairs: String?
        @Option(help: "A stream of prompts to replay.") var replay: String?
        @Option(help: "The false-hit rate the recommended threshold may not exceed.") var maxFalseHitRate = 0.05
        @Option(help: "Use only the first N pairs or prompts.") var limit: Int?
        @Flag(help: "Print JSON Lines.") var json = false

        func run() async throws {
            guard pairs != nil || replay != nil else { throw ValidationError("give --pairs FILE or --replay FILE") }
            let configuration = try options.load()
            let embedder = try CacheEmbedder.make(configuration.cache.embedder, client: UpstreamClient())
            var verifier: Verifier?
            if configuration.cache.verifier.enabled, embedder is any TokenEmbedder {
                verifier = try Verifier.load(file: configuration.cache.verifier.file)
            }
            if let pairs { try await tune(pairs, embedder: embedder, verifier: verifier) }
            if let replay { try await replayStream(replay, embedder: embedder) }
        }

        private func tune(_ path: String, embedder: any Embedder, verifier: Verifier?) async throws {
            var labelled = try LabelledPair.load(path: path)
            if let limit { labelled = Array(labelled.prefix(limit)) }
            let progress = Progress(total: labelled.count * 2, label: "embedding")
            let scores = try await ThresholdBenchmark.cosines(labelled, embedder: embedder) { done, _ in
                progress.update(done)
            }
            progress.finish()
            let report = ThresholdReport(
                scores: scores, labels: labelled.map(\.isDuplicate), thresholds: ThresholdReport.cosineThresholds,
                maxFalseHitRate: maxFalseHitRate)
            var verified: (report: ThresholdReport, outOfFold: Bool)?
            if let verifier, let tokens = embedder as? any TokenEmbedder {
                FileHandle.standardError.write(Data("scoring the pairs with the verifier\n".utf8))
                let (scores, outOfFold) = try await VerifierTraining.scores(
                    for: labelled, file: path, verifier: verifier, embedder: tokens,
                    featureCache: limit == nil ? ".build-peers/verifier-features" : nil)
                verified = (
                    ThresholdReport(
                        scores: scores, labels: labelled.map(\.isDuplicate),
                        thresholds: (1...99).map { Double($0) / 100 },
                        maxFalseHitRate: maxFalseHitRate), outOfFold
                )
            }
            if json {
                printJSONReport(report, verifier: false, outOfFold: false)
                if let verified { printJSONReport(verified.report, verifier: true, outOfFold: verified.outOfFold) }
                return
            }
            print("\(report.pairs) pairs (\(report.duplicates) duplicates) from \(path)")
            printTable(
                ["threshold", "precision", "recall", "F1", "false-hit rate"],
                report.points.map { point in
                    [
                        String(format: "%.2f", point.threshold), String(format: "%.3f", point.precision),
                        String(format: "%.3f", point.recall),
                        String(format: "%.3f", point.f1), String(format: "%.3f", point.falseHitRate),
                    ]
                })
            print(String(format: "average precision %.3f", report.averagePrecision))
            if let threshold = report.recommendedThreshold,
                let point = report.points.first(where: { $0.threshold == threshold })
            {
                print(
                    String(
                        format: "recommended threshold %.2f (false-hit rate %.3f <= %.3f; precision %.3f, recall %.3f)",
                        threshold,
                        point.falseHitRate, maxFalseHitRate, point.precision, point.recall))
            } else {
                print("no threshold up to 0.98 keeps the false-hit rate at or under \(maxFalseHitRate)")
            }
            guard let verified else { return }
            print(
                "\nWith the verifier (\(verified.outOfFold ? "out-of-fold scores: these are its training pairs" : "scores of the shipped verifier"); "
                    + "candidates below cosine \(verifier!.candidateThreshold) rejected):")
            printTable(
                ["verifier threshold", "precision", "recall", "F1", "false-hit rate"],
                verified.report.points.filter { Int(($0.threshold * 100).rounded()) % 5 == 0 }.map { point in
                    [
                        String(format: "%.2f", point.threshold), String(format: "%.3f", point.precision),
                        String(format: "%.3f", point.recall),
                        String(format: "%.3f", point.f1), String(format: "%.3f", point.falseHitRate),
                    ]
                })
            if let threshold = verified.report.recommendedThreshold,
                let point = verified.report.points.first(where: { $0.threshold == threshold })
            {
                print(
                    String(
                        format:
                            "verifier: recommended threshold %.2f (false-hit rate %.3f; precision %.3f, recall %.3f); average precision %.3f",
                        threshold, point.falseHitRate, point.precision, point.recall, verified.report.averagePrecision))
            }
        }

        private func printJSONReport(_ report: ThresholdReport, verifier: Bool, outOfFold: Bool) {
            for point in report.points {
                printJSON([
                    "threshold": .number(point.threshold), "precision": .number(point.precision),
                    "recall": .number(point.recall),
                    "f1": .number(point.f1), "false_hit_rate": .number(point.falseHitRate), "verifier": .bool(verifier),
                ])
            }
            printJSON([
                "average_precision": .number(report.averagePrecision),
                "recommended_threshold": report.recommendedThreshold.map(JSONValue.number) ?? .null,
                "max_false_hit_rate": .number(maxFalseHitRate), "pairs": .integer(Int64(report.pairs)),
                "duplicates": .integer(Int64(report.duplicates)), "verifier": .bool(verifier),
                "out_of_fold": .bool(outOfFold),
            ])
        }

        private func replayStream(_ path: String, embedder: any Embedder) async throws {
            var prompts = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
                line -> (String, String?) in
                let fields = line.split(separator: "\t", maxSplits: 1)
                return (String(fields[0]), fields.count > 1 ? String(fields[1]) : nil)
            }
            if let limit { prompts = Array(prompts.prefix(limit)) }
            let points = try await ThresholdBenchmark.replay(
                prompts.map { (text: $0.0, cluster: $0.1) }, embedder: embedder,
                thresholds: ThresholdReport.cosineThresholds)
            if json {
                for point in points {
                    printJSON([
                        "threshold": .number(point.threshold), "hit_rate": .number(point.hitRate),
                        "wrong_hit_rate": point.wrongHitRate.map(JSONValue.number) ?? .null,
                    ])
                }
                return
            }
            print("\(prompts.count) prompts replayed from \(path)")
            printTable(
                ["threshold", "hit rate", "wrong-hit rate"],
                points.map { point in
                    [
                        String(format: "%.2f", point.threshold), String(format: "%.3f", point.hitRate),
                        point.wrongHitRate.map { String(format: "%.3f", $0) } ?? "-",
                    ]
                })
        }
    }
}

func printJSON(_ object: [String: JSONValue]) {
    print(String(decoding: JSONValue.object(object).serialized(sortedKeys: true), as: UTF8.self))
}
