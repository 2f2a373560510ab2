import ArgumentParser
import Embedding
import Foundation
import Proxy
import RouterShiftConfiguration

extension CacheCommand {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tune the similarity threshold on labelled pairs, or replay a stream of prompts.",
            discussion: """
                --pairs reads a CSV (question1,question2,is_duplicate) or a JSON array of {origin, similar} positives, \
                embeds them with the embedder the configuration names, and prints for thresholds 0.70 to 0.98 the \
                precision, recall, F1 and false-hit rate (wrong hits over all non-duplicate pairs), then the average \
                precision and the recommended threshold, which keeps the false-hit rate at most --max-false-hit-rate \
                with --confidence: thresholds are tested from the strictest towards looser ones, each against a \
                one-sided Clopper-Pearson upper bound on its false-hit rate (printed beside the estimate), stopping \
                at the first whose bound exceeds the maximum; the recommendation is the last that passed, valid \
                although many thresholds were tried. The same for the verifier's score when it is enabled. --replay reads a stream of prompts, one a line, \
                a tab, its cluster id (--replay-pairs builds one from labelled pairs: the connected components of \
                the duplicate pairs are the clusters, the order shuffled by --seed; --write-replay keeps it), plays \
                it through the semantic lookup once per policy (static cosine thresholds, static verifier points, and \
                the adaptive loop: audits of --audit-rate of the hits and near-misses, kept at --max-wrong-hit-rate) \
                and prints each policy's hit rate and wrong-hit share, with the loop's own estimate and interval at \
                the end. The loop's judge is the cluster label, or with --judge embedder the gateway's default judge \
                (the embedder's cosine of two answers at or above --judge-agreement, a cluster's answer being its \
                first prompt), whose error is first measured against the label on the shipped verifier point's hits \
                of --judge-calibration-pairs (else of the replayed stream itself) and corrected for in the estimate.
                """)

        @OptionGroup var options: ConfigOptions
        @Option(help: "Labelled pairs: CSV or JSON.") var pairs: String?
        @Option(help: "A stream of prompts to replay: a prompt, a tab and its cluster id a line.") var replay: String?
        @Option(help: "Labelled pairs to build the replayed stream from.") var replayPairs: String?
        @Option(help: "Write the stream --replay-pairs built to this file.") var writeReplay: String?
        @Option(help: "The seed of the stream's order (--replay-pairs) and of the first loop's audits.")
        var seed: UInt64 = 1
        @Option(help: "The share of hits the adaptive loop audits.") var auditRate = 0.1
        @Option(help: "The wrong-hit share the adaptive loop keeps.") var maxWrongHitRate = 0.05
        @Option(help: "Runs of the adaptive loop, each with its own audit sample.") var loops = 5
        @Option(help: "The adaptive loop's judge: label or embedder.") var judge = "label"
        @Option(help: "The cosine of two answers at or above which the embedder judge says they agree.")
        var judgeAgreement = 0.8
        @Option(help: "Labelled pairs, apart from the replayed ones, on which the embedder judge's error is measured.")
        var judgeCalibrationPairs: String?
        @Option(help: "Use only the first N of the calibration pairs.") var judgeCalibrationLimit: Int?
        @Option(help: "The false-hit rate the recommended threshold may not exceed.") var maxFalseHitRate = 0.05
        @Option(help: "The confidence with which the recommended threshold keeps --max-false-hit-rate.")
        var confidence = 0.95
        @Option(help: "Use only the first N pairs or prompts.") var limit: Int?
        @Option(help: "The form the candidates' token states are stored in, as the cache would store them.")
        var storedForm = TokenStateCoding.Form.stored
        @Flag(help: "Print JSON Lines.") var json = false

        func run() async throws {
            guard pairs != nil || replay != nil || replayPairs != nil else {
                throw ValidationError("give --pairs FILE, --replay FILE or --replay-pairs FILE")
            }
            guard replay == nil || replayPairs == nil else {
                throw ValidationError("give --replay or --replay-pairs, not both")
            }
            guard (0...1).contains(auditRate) else { throw ValidationError("--audit-rate must be in [0, 1]") }
            guard maxWrongHitRate > 0, maxWrongHitRate < 1 else {
                throw ValidationError("--max-wrong-hit-rate must be in (0, 1)")
            }
            guard loops >= 1 else { throw ValidationError("--loops must be at least 1") }
            guard ["label", "embedder"].contains(judge) else {
                throw ValidationError("--judge must be label or embedder, not `\(judge)`")
            }
            guard (0...1).contains(judgeAgreement) else { throw ValidationError("--judge-agreement must be in [0, 1]") }
            guard judgeCalibrationPairs == nil || judge == "embedder" else {
                throw ValidationError("--judge-calibration-pairs measures the embedder judge: give --judge embedder")
            }
            let configuration = try options.load()
            // Shut down on every path: a client dropped while running stops the process.
            let client = UpstreamClient()
            do {
                try await bench(configuration, client: client)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }

        private func bench(_ configuration: GatewayConfiguration, client: UpstreamClient) async throws {
            let machine = "\(HostCPU.modelName), \(ProcessInfo.processInfo.activeProcessorCount) cores"
            if json { printJSON(["machine": .string(machine)]) } else { print("machine: \(machine)") }
            let embedder = try CacheEmbedder.make(configuration.cache.embedder, client: client)
            var verifier: Verifier?
            if configuration.cache.verifier.enabled, embedder is any TokenEmbedder {
                verifier = try Verifier.load(file: configuration.cache.verifier.file)
            }
            if let pairs { try await tune(pairs, embedder: embedder, verifier: verifier) }
            if replay != nil || replayPairs != nil {
                guard let tokens = embedder as? any TokenEmbedder else {
                    throw ValidationError("the replay needs the local embedder (its token states feed the verifier)")
                }
                try await ReplayReport(command: self).run(embedder: tokens, verifier: verifier)
            }
        }

        private func tune(_ path: String, embedder: any Embedder, verifier: Verifier?) async throws {
            guard confidence > 0, confidence < 1 else { throw ValidationError("--confidence must be in (0, 1)") }
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
                    featureCache: limit == nil ? ".build-peers/verifier-features" : nil, form: storedForm)
                verified = (
                    ThresholdReport(
                        scores: scores, labels: labelled.map(\.isDuplicate),
                        thresholds: (1...99).map { Double($0) / 100 },
                        maxFalseHitRate: maxFalseHitRate), outOfFold
                )
            }
            let cosineTest = FixedSequenceTest(
                points: report.points, maxFalseHitRate: maxFalseHitRate, confidence: confidence)
            let verifierTest = verified.map {
                FixedSequenceTest(points: $0.report.points, maxFalseHitRate: maxFalseHitRate, confidence: confidence)
            }
            if json {
                printJSONReport(report, test: cosineTest, verifier: false, outOfFold: false)
                if let verified, let verifierTest {
                    printJSONReport(verified.report, test: verifierTest, verifier: true, outOfFold: verified.outOfFold)
                }
                return
            }
            print("\(report.pairs) pairs (\(report.duplicates) duplicates) from \(path)")
            printPoints(report.points, label: "threshold")
            print(String(format: "average precision %.3f", report.averagePrecision))
            printRecommendation(cosineTest, label: "cosine")
            guard let verified, let verifierTest else { return }
            print(
                "\nWith the verifier (\(verified.outOfFold ? "out-of-fold scores: these are its training pairs" : "scores of the shipped verifier"); "
                    + "candidates below cosine \(verifier!.candidateThreshold) rejected):")
            printPoints(
                verified.report.points.filter { Int(($0.threshold * 100).rounded()) % 5 == 0 },
                label: "verifier threshold")
            print(String(format: "verifier average precision %.3f", verified.report.averagePrecision))
            printRecommendation(verifierTest, label: "verifier")
            if let tokens = embedder as? any TokenEmbedder {
                let timed = Array(labelled.prefix(1000))
                let latency = try await ThresholdBenchmark.verifierLatency(
                    timed, embedder: tokens, verifier: verifier!, form: storedForm)
                print(
                    String(
                        format:
                            "verifier per candidate (decode, features and score, %d pairs, one at a time, states %@): p50 %.3f ms, p99 %.3f ms",
                        timed.count, storedForm.rawValue, latency.p50, latency.p99))
            }
        }

        /// The figures at each threshold, with the Clopper-Pearson upper bound on the false-hit rate.
        private func printPoints(_ points: [ThresholdPoint], label: String) {
            printTable(
                [
                    label, "precision", "recall", "F1", "false-hit rate",
                    String(format: "%g%% upper bound", confidence * 100),
                ],
                points.map { point in
                    [
                        String(format: "%.2f", point.threshold), String(format: "%.3f", point.precision),
                        String(format: "%.3f", point.recall), String(format: "%.3f", point.f1),
                        String(format: "%.3f", point.falseHitRate), String(format: "%.3f", upperBound(point)),
                    ]
                })
        }

        private func upperBound(_ point: ThresholdPoint) -> Double {
            point.negatives == 0
                ? 1
                : ClopperPearson.upperBound(events: point.falseHits, trials: point.negatives, confidence: confidence)
        }

        /// The fixed-sequence test's outcome: the loosest threshold that passed and the first that failed.
        private func printRecommendation(_ test: FixedSequenceTest, label: String) {
            let failed = test.steps.last.flatMap { $0.passed ? nil : $0 }
            let failure = failed.map {
                String(
                    format: "; %.2f failed (false-hit rate %.3f, bound %.3f)", $0.point.threshold,
                    $0.point.falseHitRate, $0.upperBound)
            }
            guard let step = test.recommended else {
                print(
                    "\(label): no threshold keeps the false-hit rate at or under \(maxFalseHitRate) with "
                        + String(format: "%g%% confidence", confidence * 100) + (failure ?? ""))
                return
            }
            print(
                "\(label): "
                    + String(
                        format:
                            "recommended threshold %.2f (false-hit rate %.3f, %g%% upper bound %.3f <= %.3f; precision %.3f, recall %.3f); fixed-sequence test from %.2f, %d passed",
                        step.point.threshold, step.point.falseHitRate, confidence * 100, step.upperBound,
                        maxFalseHitRate, step.point.precision, step.point.recall, test.steps[0].point.threshold,
                        test.steps.filter(\.passed).count) + (failure ?? ""))
        }

        private func printJSONReport(
            _ report: ThresholdReport, test: FixedSequenceTest, verifier: Bool, outOfFold: Bool
        ) {
            for point in report.points {
                printJSON([
                    "threshold": .number(point.threshold), "precision": .number(point.precision),
                    "recall": .number(point.recall), "f1": .number(point.f1),
                    "false_hit_rate": .number(point.falseHitRate), "false_hit_upper_bound": .number(upperBound(point)),
                    "verifier": .bool(verifier),
                ])
            }
            printJSON([
                "average_precision": .number(report.averagePrecision),
                "recommended_threshold": test.recommended.map { JSONValue.number($0.point.threshold) } ?? .null,
                "recommended_upper_bound": test.recommended.map { JSONValue.number($0.upperBound) } ?? .null,
                "max_false_hit_rate": .number(maxFalseHitRate), "confidence": .number(confidence),
                "pairs": .integer(Int64(report.pairs)), "duplicates": .integer(Int64(report.duplicates)),
                "verifier": .bool(verifier), "out_of_fold": .bool(outOfFold),
            ])
        }
    }
}

func printJSON(_ object: [String: JSONValue]) {
    print(String(decoding: JSONValue.object(object).serialized(sortedKeys: true), as: UTF8.self))
}

extension TokenStateCoding.Form: ExpressibleByArgument {}
