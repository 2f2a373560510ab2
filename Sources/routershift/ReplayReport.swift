import ArgumentParser
import Embedding
import Foundation
import Proxy

/// `routershift cache bench --replay`: every policy over one stream, then how the adaptive loop compares with
/// the best static points.
struct ReplayReport {
    let command: CacheCommand.Bench

    func run(embedder: any TokenEmbedder, verifier: Verifier?) async throws {
        let stream = try loadStream()
        if let path = command.writeReplay {
            try stream.file.write(toFile: path, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("wrote \(stream.prompts.count) prompts to \(path)\n".utf8))
        }
        let cosines = stride(from: 80, through: 98, by: 2).map { Double($0) / 100 }
        let points = verifier.map(Self.verifierPoints) ?? []
        // The loop may loosen the verifier's floor below the shipped one.
        let lowest = min(cosines.min()!, (verifier?.candidateThreshold ?? 1) - AuditedOperatingPoint.maxLoosening)
        let progress = Progress(total: stream.prompts.count, label: "encoding the stream")
        let prepared = try await CacheReplay.prepare(
            stream, embedder: embedder, verifier: verifier, lowestFloor: lowest,
            storedForm: command.storedForm, progress: progress.update)
        progress.finish()
        var outcomes = cosines.map { CacheReplay.run(.cosine($0), on: prepared) }
        outcomes += points.map { CacheReplay.run(.verifier($0), on: prepared) }
        let judge = try await loopJudge(verifier: verifier, embedder: embedder, replayed: prepared)
        let loops = (0..<(verifier == nil ? 0 : command.loops)).map { run in
            CacheReplay.run(
                .adaptive(
                    auditRate: command.auditRate, maxWrongHitRate: command.maxWrongHitRate,
                    seed: command.seed &+ UInt64(run), judge: judge.judge), on: prepared)
        }
        let judgeError: JudgeError? = if case .embedder(_, let error) = judge.judge { error } else { nil }
        if command.json {
            for outcome in outcomes + loops { printJSON(json(outcome, judgeError: judgeError)) }
            if let calibration = judge.calibration { printJSON(calibration.json) }
            return
        }
        print(
            "\(stream.prompts.count) prompts, \(stream.repeats) of them with an earlier prompt of their cluster "
                + "(the hits a perfect cache would serve: \(String(format: "%.3f", Double(stream.repeats) / Double(max(stream.prompts.count, 1)))) of the stream)"
        )
        printTable(
            ["policy", "point", "hit rate", "wrong-hit share", "labelled wrong"],
            outcomes.map { outcome in
                let (policy, point) = describe(outcome.policy)
                return [
                    policy, point, format(outcome.hitRate), format(outcome.wrongHitShare),
                    stream.prompts.isEmpty || command.replay != nil ? "-" : format(outcome.labelledWrongHitShare),
                ]
            })
        printVerifierWork(outcomes)
        guard !loops.isEmpty else { return }
        if let calibration = judge.calibration { calibration.print() }
        print(
            "\nThe adaptive loop: the verifier from its point \(verifier!.threshold), audits of "
                + "\(format(command.auditRate)) of the hits and near-misses judged by \(judge.name), kept at a "
                + "wrong-hit share of \(format(command.maxWrongHitRate)); \(loops.count) runs with their own audit samples:"
        )
        printTable(
            [
                "run", "hit rate", "wrong-hit share", "labelled wrong", "audits", "estimate", "95% interval", "width",
                "contains share", "near-miss audits", "near-miss wrong", "strictness", "retired",
            ],
            loops.enumerated().map { run, outcome in
                let loop = outcome.loop!
                let interval = loop.wrongHitInterval(judgeError: judgeError)
                return [
                    String(run + 1), format(outcome.hitRate), format(outcome.wrongHitShare),
                    command.replay != nil ? "-" : format(outcome.labelledWrongHitShare),
                    String(loop.sequence.trials), loop.wrongHitEstimate(judgeError: judgeError).map(format) ?? "-",
                    "\(format(interval.lowerBound)) to \(format(interval.upperBound))",
                    format(interval.upperBound - interval.lowerBound),
                    interval.contains(outcome.wrongHitShare) ? "yes" : "no", String(loop.nearMisses.trials),
                    loop.nearMisses.estimate.map(format) ?? "-", String(format: "%.2f", loop.strictness),
                    String(outcome.retired),
                ]
            })
        compare(loops: loops, with: outcomes)
        print("verifier pairs scored: \(prepared.scoredPairs)")
    }

    /// The loop's judge: the cluster label, or the embedder with its error measured against the label on the
    /// shipped verifier point's hits of the calibration pairs (else of the replayed stream).
    private func loopJudge(verifier: Verifier?, embedder: any TokenEmbedder, replayed: CacheReplay.Prepared)
        async throws -> (judge: CacheReplay.Judge, name: String, calibration: JudgeCalibration?)
    {
        guard command.judge == "embedder", let verifier else { return (.label, "the cluster label", nil) }
        let uncorrected = CacheReplay.Judge.embedder(agreement: command.judgeAgreement, error: nil)
        var prepared = replayed
        var source = "the replayed stream itself (in sample)"
        if let path = command.judgeCalibrationPairs {
            var pairs = try LabelledPair.load(path: path)
            if let limit = command.judgeCalibrationLimit { pairs = Array(pairs.prefix(limit)) }
            let stream = CacheReplay.Stream(pairs: pairs, seed: command.seed)
            let progress = Progress(total: stream.prompts.count, label: "encoding the judge's calibration stream")
            prepared = try await CacheReplay.prepare(
                stream, embedder: embedder, verifier: verifier, lowestFloor: verifier.candidateThreshold,
                storedForm: command.storedForm, progress: progress.update)
            progress.finish()
            source = "\(stream.prompts.count) prompts of \(path)"
        }
        let served = CacheReplay.run(.verifier(verifier.threshold), on: prepared)
        let measured = CacheReplay.judgeError(of: uncorrected, on: served, in: prepared)
        let calibration = JudgeCalibration(
            agreement: command.judgeAgreement, source: source, error: measured.error, missed: measured.missed,
            wrong: measured.wrong, falseAlarms: measured.falseAlarms, right: measured.right)
        return (
            .embedder(agreement: command.judgeAgreement, error: measured.error),
            "the embedder's cosine of the answers at \(command.judgeAgreement), corrected for its measured error",
            calibration
        )
    }

    /// For the verifier's points: which candidate rank served the hits, and how many candidates a miss scored.
    private func printVerifierWork(_ outcomes: [CacheReplay.Outcome]) {
        let verified = outcomes.filter { describe($0.policy).0 == "verifier" }
        guard !verified.isEmpty else { return }
        print("\nVerifier work: hits by the rank of the candidate that served them, and candidates scored per miss:")
        printTable(
            ["point"] + (1...SemanticCache.candidates).map { "rank \($0)" } + ["scored per miss"],
            verified.map { outcome in
                let misses = max(outcome.prompts - outcome.hits, 1)
                return [describe(outcome.policy).1] + outcome.servedRanks.map(String.init)
                    + [String(format: "%.2f", Double(outcome.verifiedOnMisses) / Double(misses))]
            })
    }

    private func loadStream() throws -> CacheReplay.Stream {
        if let path = command.replay {
            let stream = try CacheReplay.Stream(file: path)
            return command.limit.map { CacheReplay.Stream(prompts: Array(stream.prompts.prefix($0))) } ?? stream
        }
        var pairs = try LabelledPair.load(path: command.replayPairs!)
        if let limit = command.limit { pairs = Array(pairs.prefix(limit)) }
        return CacheReplay.Stream(pairs: pairs, seed: command.seed)
    }

    /// The shipped point, the points 0.05 apart from 0.50, and the points the loop can move to.
    private static func verifierPoints(_ verifier: Verifier) -> [Double] {
        let grid = stride(from: 50, through: 95, by: 5).map { Double($0) / 100 }
        let steps = Int((AuditedOperatingPoint.maxStrictness / AuditedOperatingPoint.step).rounded())
        let reachable = stride(from: 0, through: steps, by: 5).map {
            verifier.threshold + Double($0) * AuditedOperatingPoint.step
        }
        return Set((grid + reachable).map { ($0 * 1000).rounded() / 1000 }).filter { $0 < 1 }.sorted()
    }

    /// The loop's mean against the static point with the most hits at a wrong-hit share within the maximum.
    private func compare(loops: [CacheReplay.Outcome], with outcomes: [CacheReplay.Outcome]) {
        let maximum = command.maxWrongHitRate
        let hitRate = loops.map(\.hitRate).reduce(0, +) / Double(loops.count)
        let share = loops.map(\.wrongHitShare).reduce(0, +) / Double(loops.count)
        print("\nloop, mean of \(loops.count) runs: hit rate \(format(hitRate)), wrong-hit share \(format(share))")
        for kind in ["cosine", "verifier"] {
            let statics = outcomes.filter { describe($0.policy).0 == kind }
            let best = statics.filter { $0.wrongHitShare <= maximum }.max { $0.hitRate < $1.hitRate }
            guard let best else {
                print("best static \(kind) point within \(format(maximum)) wrong: none reaches it")
                continue
            }
            print(
                "best static \(kind) point within \(format(maximum)) wrong: \(describe(best.policy).1), hit rate "
                    + "\(format(best.hitRate)), wrong-hit share \(format(best.wrongHitShare)); loop/static hit rate "
                    + String(format: "%.2fx", hitRate / max(best.hitRate, 1e-9)))
        }
    }

    private func describe(_ policy: CacheReplay.Policy) -> (String, String) {
        switch policy {
        case .cosine(let threshold): ("cosine", String(format: "%.2f", threshold))
        case .verifier(let threshold): ("verifier", String(format: "%.2f", threshold))
        case .adaptive(let rate, let maximum, let seed, _): ("adaptive", "audit \(rate), max \(maximum), seed \(seed)")
        }
    }

    private func json(_ outcome: CacheReplay.Outcome, judgeError: JudgeError?) -> [String: JSONValue] {
        let (policy, point) = describe(outcome.policy)
        var object: [String: JSONValue] = [
            "policy": .string(policy), "point": .string(point), "prompts": .integer(Int64(outcome.prompts)),
            "hits": .integer(Int64(outcome.hits)), "hit_rate": .number(outcome.hitRate),
            "wrong_hit_share": .number(outcome.wrongHitShare),
            "labelled_wrong_hit_share": .number(outcome.labelledWrongHitShare),
        ]
        if let loop = outcome.loop {
            let interval = loop.wrongHitInterval(judgeError: judgeError)
            object["audits"] = .integer(Int64(loop.sequence.trials))
            object["estimate"] = loop.wrongHitEstimate(judgeError: judgeError).map(JSONValue.number) ?? .null
            object["interval"] = [.number(interval.lowerBound), .number(interval.upperBound)]
            object["near_miss_audits"] = .integer(Int64(loop.nearMisses.trials))
            object["near_miss_wrong_share"] = loop.nearMisses.estimate.map(JSONValue.number) ?? .null
            object["strictness"] = .number(loop.strictness)
            object["retired"] = .integer(Int64(outcome.retired))
        }
        return object
    }

    private func format(_ value: Double) -> String { String(format: "%.3f", value) }
}

/// The embedder judge's error against the cluster label, as measured before the loop runs.
struct JudgeCalibration {
    let agreement: Double
    let source: String
    let error: JudgeError
    let missed: Int
    let wrong: Int
    let falseAlarms: Int
    let right: Int

    func print() {
        Swift.print(
            "\nThe embedder judge (answers agree at a cosine of \(agreement) or more) against the cluster label, on the "
                + "shipped verifier point's hits of \(source):")
        printTable(
            ["hits", "judged", "count", "judge errs", "error rate", "95% interval"],
            [
                row("wrong", "right (missed)", missed, of: wrong, error.missed),
                row("right", "wrong (false alarm)", falseAlarms, of: right, error.falseAlarm),
            ])
    }

    private func row(_ kind: String, _ judged: String, _ count: Int, of total: Int, _ interval: ClosedRange<Double>)
        -> [String]
    {
        [
            kind, judged, String(total), String(count),
            total == 0 ? "-" : String(format: "%.3f", Double(count) / Double(total)),
            String(format: "%.3f to %.3f", interval.lowerBound, interval.upperBound),
        ]
    }

    var json: [String: JSONValue] {
        [
            "judge": "embedder", "agreement": .number(agreement), "calibration": .string(source),
            "wrong_hits": .integer(Int64(wrong)), "missed": .integer(Int64(missed)),
            "missed_interval": [.number(error.missed.lowerBound), .number(error.missed.upperBound)],
            "right_hits": .integer(Int64(right)), "false_alarms": .integer(Int64(falseAlarms)),
            "false_alarm_interval": [.number(error.falseAlarm.lowerBound), .number(error.falseAlarm.upperBound)],
        ]
    }
}
