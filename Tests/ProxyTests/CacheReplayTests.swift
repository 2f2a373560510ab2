import Canonical
import Embedding
import Foundation
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
            case .miss(let encoded):
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
        #expect(point.strictness == 0 && relaxed == 10, "back to the configured point, one step at a time")
        #expect(point.sequence.interval.upperBound <= 0.05)
    }
}
