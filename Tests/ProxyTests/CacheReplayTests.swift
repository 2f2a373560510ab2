import Canonical
import Embedding
import Foundation
import Logging
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// `routershift cache bench --replay`: streams built from labelled pairs, the replay deciding as the
/// gateway's lookup does, and the adaptive loop's audits.
@Suite struct CacheReplayTests {
    static let pairs = [
        LabelledPair(first: "a", second: "b", isDuplicate: true),
        LabelledPair(first: "b", second: "c", isDuplicate: true),
        LabelledPair(first: "d", second: "e", isDuplicate: false),
        LabelledPair(first: "a", second: "d", isDuplicate: false),
    ]

    @Test func clustersAreTheConnectedComponentsOfTheDuplicatePairs() throws {
        let stream = CacheReplay.Stream(pairs: Self.pairs, seed: 7)
        let cluster = Dictionary(uniqueKeysWithValues: stream.prompts.map { ($0.text, $0.cluster) })
        #expect(cluster.count == 5)
        #expect(cluster["a"] == cluster["b"] && cluster["b"] == cluster["c"], "joined through b")
        #expect(Set([cluster["a"], cluster["d"], cluster["e"]]).count == 3)
        #expect(stream.repeats == 2)
        let position = Dictionary(uniqueKeysWithValues: stream.prompts.enumerated().map { ($1.text, $0) })
        #expect(
            stream.labelledDifferent == [
                [position["d"]!, position["e"]!].sorted(), [position["a"]!, position["d"]!].sorted(),
            ])
        #expect(CacheReplay.Stream(pairs: Self.pairs, seed: 7).prompts == stream.prompts, "the seed fixes the order")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID()).tsv")
        defer { try? FileManager.default.removeItem(at: file) }
        try stream.file.write(to: file, atomically: true, encoding: .utf8)
        #expect(try CacheReplay.Stream(file: file.path).prompts == stream.prompts)
        try "a prompt without its cluster\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: GatewayError.self) { try CacheReplay.Stream(file: file.path) }
    }

    static let questions = [
        ("How do I learn Python quickly?", "python"), ("What is the capital of France?", "france"),
        ("What is the fastest way to learn Python?", "python"), ("How do I learn Java quickly?", "java"),
        ("Which city is the capital of France?", "france"), ("How can I lose weight fast?", "weight"),
        ("What is the best way to lose weight quickly?", "weight"), ("How do I learn Python fast?", "python"),
        ("What is the capital of Germany?", "germany"), ("How can I gain weight fast?", "gain"),
        ("How do I learn C++ quickly?", "cpp"), ("How do I learn Rust quickly?", "rust"),
    ]

    /// A miss scores 3 candidates at most, however many the search found above the floor.
    @Test func theVerifierScoresAtMostThreeCandidatesALookup() async throws {
        let embedder = try Self.embedder()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bounded-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var settings = GatewayConfiguration.Cache()
        settings.scope = .global
        // Every candidate above a floor of 0.1, and none passes a verifier threshold of 1.
        settings.verifier.candidateThreshold = 0.1
        settings.verifier.threshold = 1
        let cache = try SemanticCache(
            settings: settings, store: GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path),
            embedder: embedder)
        func request(_ text: String) -> ChatRequest {
            ChatRequest(model: "chat", messages: [ChatMessage(role: .user, content: [.text(text)])])
        }
        let languages = ["Python", "Java", "Rust", "Go", "Ruby", "Swift", "Kotlin", "Scala", "Perl"]
        for language in languages.dropLast() {
            let stored = request("How do I learn \(language) programming quickly?")
            let key = CacheKey(request: stored, tenant: "global", settings: settings, semanticEnabled: true)
            let response = ChatResponse(
                id: "chatcmpl-\(language)", model: "chat", created: 0,
                choices: [
                    ChatChoice(
                        index: 0, message: ChatMessage(role: .assistant, content: [.text(language)]),
                        finishReason: .stop)
                ], usage: Usage(promptTokens: 1, completionTokens: 1))
            _ = try await cache.store(response, request: stored, key: key, encoded: nil, ttl: nil, cost: 0)
        }
        let asked = request("How do I learn \(languages.last!) programming quickly?")
        let key = CacheKey(request: asked, tenant: "global", settings: settings, semanticEnabled: true)
        guard case .miss = try await cache.lookup(key, threshold: cache.similarityFloor(groupThreshold: nil)) else {
            Issue.record("no candidate passes a verifier threshold of 1")
            return
        }
        #expect(try cache.report().verifications == SemanticCache.maxVerified, "8 candidates, 3 scored")
    }

    static func embedder() throws -> LocalEmbedder {
        try LocalEmbedder(files: ModelFiles(directory: URL(fileURLWithPath: ModelFiles.defaultDirectory)))
    }

    /// The replay at the verifier's shipped point and a semantic cache fed the same stream (hit or else store)
    /// answer the same prompts with the same earlier prompts.
    @Test func theReplayDecidesAsTheGatewaysLookupDoes() async throws {
        let embedder = try Self.embedder()
        let verifier = try Verifier.load(file: nil)
        let stream = CacheReplay.Stream(prompts: Self.questions.map { CacheReplay.Prompt(text: $0.0, cluster: $0.1) })
        let prepared = try await CacheReplay.prepare(
            stream, embedder: embedder, verifier: verifier, lowestFloor: verifier.candidateThreshold)
        let replayed = CacheReplay.run(.verifier(verifier.threshold), on: prepared)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var settings = GatewayConfiguration.Cache()
        settings.scope = .global
        let cache = try SemanticCache(
            settings: settings, store: GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path),
            embedder: embedder)
        var served: [String?] = []
        for (text, _) in Self.questions {
            let request = ChatRequest(model: "chat", messages: [ChatMessage(role: .user, content: [.text(text)])])
            let key = CacheKey(request: request, tenant: "global", settings: settings, semanticEnabled: true)
            switch try await cache.lookup(key, threshold: cache.similarityFloor(groupThreshold: nil)) {
            case .hit(let hit):
                served.append(hit.entry.prompt)
            case .miss(let encoded, _):
                served.append(nil)
                let response = ChatResponse(
                    id: "chatcmpl-\(served.count)", model: "chat", created: 0,
                    choices: [
                        ChatChoice(
                            index: 0, message: ChatMessage(role: .assistant, content: [.text("answer")]),
                            finishReason: .stop)
                    ], usage: Usage(promptTokens: 1, completionTokens: 1))
                _ = try await cache.store(response, request: request, key: key, encoded: encoded, ttl: nil, cost: 0)
            }
        }
        #expect(replayed.matches.map { $0.map { Self.questions[$0].0 } } == served)
        #expect(served.contains { $0 != nil }, "the stream has paraphrases the verifier serves")
    }

    /// A verifier that passes every candidate serves wrong hits; the loop auditing every hit retires each
    /// wrong entry after its first wrong hit, and its operating point tightens.
    @Test func theAdaptiveLoopAuditsRetiresAndTightens() async throws {
        var lax = try Verifier.load(file: nil)
        (lax.threshold, lax.candidateThreshold) = (0.0001, 0.3)
        let similar = [
            "Python", "Java", "C++", "Rust", "Go", "Ruby", "Swift", "Kotlin", "Scala", "Haskell", "Perl", "Lua",
        ]
        let stream = CacheReplay.Stream(
            prompts: similar.map { CacheReplay.Prompt(text: "How do I learn \($0) programming quickly?", cluster: $0) })
        let prepared = try await CacheReplay.prepare(
            stream, embedder: try Self.embedder(), verifier: lax, lowestFloor: 0.3)
        let statically = CacheReplay.run(.verifier(lax.threshold), on: prepared)
        let adaptive = CacheReplay.run(.adaptive(auditRate: 1, maxWrongHitRate: 0.05, seed: 1), on: prepared)
        #expect(statically.wrongHits == statically.hits && statically.hits >= 8, "every hit is another language")
        let loop = try #require(adaptive.loop)
        #expect(loop.sequence.trials == adaptive.hits, "every hit audited")
        #expect(loop.disagreements == adaptive.wrongHits && adaptive.retired == adaptive.wrongHits)
        #expect(adaptive.wrongHits < statically.wrongHits, "a retired entry serves no more")
        try #require(loop.sequence.trials >= AuditedOperatingPoint.auditsPerStep)
        #expect(loop.strictness > 0, "all audits wrong: the bound is above the maximum")

        // The embedder judge, answers by cluster. One that finds every pair of answers different (agreement
        // above any cosine) errs on no wrong hit, and the loop runs as with the label.
        let strict = CacheReplay.Judge.embedder(agreement: 1.01, error: nil)
        let measured = CacheReplay.judgeError(of: strict, on: statically, in: prepared)
        #expect(measured.wrong == statically.hits && measured.missed == 0 && measured.right == 0)
        let judged = CacheReplay.run(
            .adaptive(auditRate: 1, maxWrongHitRate: 0.05, seed: 1, judge: strict), on: prepared)
        #expect(judged.matches == adaptive.matches && judged.loop == adaptive.loop)
        // One that finds every pair the same misses every wrong hit, and its corrected interval says nothing.
        let lenient = CacheReplay.Judge.embedder(agreement: -1, error: nil)
        let blind = CacheReplay.judgeError(of: lenient, on: statically, in: prepared)
        #expect(blind.missed == blind.wrong && blind.error.missed.upperBound == 1)
        let fooled = CacheReplay.run(
            .adaptive(
                auditRate: 1, maxWrongHitRate: 0.05, seed: 1, judge: .embedder(agreement: -1, error: blind.error)),
            on: prepared)
        #expect(fooled.loop?.disagreements == 0 && fooled.retired == 0, "it never finds a hit wrong")
        #expect(fooled.loop?.wrongHitInterval(judgeError: blind.error) == 0...1)
        #expect(fooled.loop?.sequence.interval.upperBound ?? 1 < 0.5, "uncorrected, it would look right")
    }
}

@Suite struct AuditedOperatingPointTests {
    @Test func tightensInBoundedStepsAndRelaxesOnceTheBoundAllows() {
        var point = AuditedOperatingPoint()
        for audit in 1...4 { #expect(point.observe(wrong: true, maxWrongHitRate: 0.05) == nil, "audit \(audit)") }
        let move = point.observe(wrong: true, maxWrongHitRate: 0.05)
        #expect(move?.from == 0 && move?.to == 0.01 && (move?.upperBound ?? 0) > 0.05)
        for _ in 0..<200 { _ = point.observe(wrong: true, maxWrongHitRate: 0.05) }
        #expect(point.strictness == AuditedOperatingPoint.maxStrictness, "capped")
        var relaxed = 0
        for _ in 0..<20_000 where point.strictness > 0 {
            if point.observe(wrong: false, maxWrongHitRate: 0.05) != nil { relaxed += 1 }
        }
        #expect(
            point.strictness == 0 && relaxed == Int(AuditedOperatingPoint.maxStrictness / AuditedOperatingPoint.step),
            "back to the configured point, one step at a time")
        #expect(point.sequence.interval.upperBound <= 0.05)
        #expect(point.nearMisses.trials == 0)
        for _ in 0..<200 { _ = point.observe(wrong: false, maxWrongHitRate: 0.05) }
        #expect(point.strictness == 0, "no near-miss evidence: never looser than configured")
    }

    @Test func nearMissesThatWouldHaveBeenRightLoosenThePointAndWrongOnesBringItBack() throws {
        var point = AuditedOperatingPoint()
        for _ in 0..<1_000 { _ = point.observeNearMiss(wrong: false, maxWrongHitRate: 0.05) }
        #expect(point.strictness == 0, "no audited hit yet: no evidence on the hits either way")
        for _ in 0..<200 { _ = point.observe(wrong: false, maxWrongHitRate: 0.05) }
        for _ in 0..<200 { _ = point.observeNearMiss(wrong: false, maxWrongHitRate: 0.05) }
        #expect(point.strictness == -AuditedOperatingPoint.maxLoosening, "both bounds within: loosened to its limit")
        // Near-misses start being wrong: their bound rises above the maximum and the point comes back.
        var moves: [AuditedOperatingPoint.Move] = []
        for _ in 0..<500 where point.strictness < 0 {
            if let move = point.observeNearMiss(wrong: true, maxWrongHitRate: 0.05) { moves.append(move) }
        }
        #expect(point.strictness == 0 && moves.count == 5 && moves.allSatisfy { $0.to > $0.from })
        #expect(point.nearMisses.interval.upperBound > 0.05)
        // Wrong hits still tighten it above the configured point.
        for _ in 0..<2_000 { _ = point.observe(wrong: true, maxWrongHitRate: 0.05) }
        #expect(point.strictness == AuditedOperatingPoint.maxStrictness)

        let saved = try JSONEncoder().encode(point)
        #expect(try JSONDecoder().decode(AuditedOperatingPoint.self, from: saved) == point, "kept across restarts")
    }

    @Test func theJudgesErrorWidensAndShiftsTheEstimate() {
        let error = JudgeError(missed: 0.2...0.2, falseAlarm: 0...0)
        let shares = error.wrongHitShares(0.08...0.16)
        #expect(abs(shares.lowerBound - 0.1) < 1e-12 && abs(shares.upperBound - 0.2) < 1e-12)
        #expect(abs(error.wrongHitShare(0.08) - 0.1) < 1e-12)
        // False alarms pull it down; a range of error rates widens it both ways.
        let ranged = JudgeError(missed: 0.1...0.3, falseAlarm: 0.01...0.02)
        let wide = ranged.wrongHitShares(0.08...0.16)
        #expect(abs(wide.lowerBound - (0.08 - 0.02) / (1 - 0.1 - 0.02)) < 1e-12)
        #expect(abs(wide.upperBound - (0.16 - 0.01) / (1 - 0.3 - 0.01)) < 1e-12)
        #expect(JudgeError(missed: 0.6...0.6, falseAlarm: 0.5...0.5).wrongHitShares(0.1...0.2) == 0...1)
        // From counts: exact intervals around the rates.
        let counted = JudgeError(missed: 10, ofWrong: 50, falseAlarms: 0, ofRight: 200, confidence: 0.95)
        #expect(counted.missed.contains(0.2) && counted.missed.lowerBound > 0.09 && counted.missed.upperBound < 0.35)
        #expect(counted.falseAlarm.lowerBound == 0 && counted.falseAlarm.upperBound < 0.02)

        // A judge known to miss wrong hits tightens the point sooner than the same disagreements taken as truth.
        var plain = AuditedOperatingPoint()
        var corrected = AuditedOperatingPoint()
        for audit in 0..<2_000 {
            let wrong = audit % 25 == 0
            _ = plain.observe(wrong: wrong, maxWrongHitRate: 0.1)
            _ = corrected.observe(
                wrong: wrong, maxWrongHitRate: 0.1, judgeError: JudgeError(missed: 0.5...0.5, falseAlarm: 0...0))
        }
        #expect(plain.strictness == 0 && corrected.strictness > 0)
        #expect(corrected.wrongHitEstimate(judgeError: JudgeError(missed: 0.5...0.5, falseAlarm: 0...0)) == 0.08)
    }

    @Test func answersWithoutTextAreNoEvidenceForTheJudge() {
        func answer(_ text: String) -> ChatResponse {
            ChatResponse(
                id: "c", model: "m", created: 0,
                choices: [
                    ChatChoice(
                        index: 0,
                        message: ChatMessage(role: .assistant, content: text.isEmpty ? [] : [.text(text)]),
                        finishReason: .stop)
                ], usage: nil)
        }
        #expect(CacheAuditor.comparableTexts(answer("Yes."), answer("No.")).map { [$0.0, $0.1] } == ["Yes.", "No."])
        #expect(CacheAuditor.comparableTexts(answer(""), answer("")) == nil, "two tool calls, say")
        #expect(CacheAuditor.comparableTexts(answer("Yes."), answer("  ")) == nil)
    }

    @Test func theAuditorKeepsItsGroupsInTheDatabaseAndForgetsThemOnReset() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gateway.sqlite").path
        let store = try GatewayStore(path: path)
        let auditor = try CacheAuditor(store: store, logger: Logger(label: "test"))
        let settings = GatewayConfiguration.Cache()
        for _ in 0..<10 { auditor.observe(model: "chat", wrong: true, settings: settings, now: 1) }
        auditor.observe(model: "chat", wrong: false, nearMiss: true, settings: settings, now: 2)
        #expect(auditor.strictness(for: "chat") == 0.02)
        // A save older than the row (audits finish concurrently) does not overwrite it.
        try store.saveAuditGroup("chat", AuditedOperatingPoint(), now: 3)

        let reopened = try CacheAuditor(store: GatewayStore(path: path), logger: Logger(label: "test"))
        #expect(reopened.strictness(for: "chat") == 0.02, "the operating point survives a restart")
        let groups = try store.auditGroups()
        #expect(groups["chat"]?.sequence.trials == 10 && groups["chat"]?.nearMisses.trials == 1)
        reopened.reset(because: "the verifier changed")
        #expect(reopened.strictness(for: "chat") == 0)
        #expect(try store.auditGroups().isEmpty)
    }
}
