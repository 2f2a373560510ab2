import Embedding
import Foundation
import Testing
import Tokenizer

@testable import Proxy
@testable import RouterShiftConfiguration

/// The verifier at default settings: near misses that cosine alone would serve are refused, paraphrases
/// are served, and a decision does not change across restarts.
@Suite(.serialized) struct VerifierTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
        models:
          - { name: chat, deployments: [ { provider: mock, model: mock-small } ] }
        cache: { enabled: true, scope: global }
        """

    static func ask(_ live: LiveGateway, _ prompt: String) async throws -> (status: String, score: String?) {
        let answer = try await live.post("/v1/chat/completions", SemanticCacheTests.chat(prompt))
        return (
            answer.headers.first(name: "x-routershift-cache") ?? "",
            answer.headers.first(name: "x-routershift-cache-verifier")
        )
    }

    @Test(arguments: [
        ("Should I learn Python?", "Should I not learn Python?"),
        ("Is it safe to eat raw eggs?", "Is it not safe to eat raw eggs?"),
        ("What was the population of Canada in 2020?", "What was the population of Canada in 2021?"),
        ("How do I transfer money from Alice to Bob?", "How do I transfer money from Bob to Alice?"),
        ("How do I install Python on Windows?", "How do I uninstall Python on Windows?"),
        ("Translate good morning into French", "Translate good morning into German"),
        ("What is the capital of France?", "What is the capital of Germany?"),
    ])
    func nearMissesAreRefused(cached: String, asked: String) async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            _ = try await Self.ask(live, cached)
            #expect(try await Self.ask(live, asked).status == "miss", "\(asked) must not get the answer to \(cached)")
        }
    }

    @Test(arguments: [
        ("How do I reset my password?", "How can I reset my password?"),
        ("How do I reset my password?", "how can I reset my password"),
        ("What is the tallest mountain in the world?", "Which mountain is the tallest in the world?"),
    ])
    func paraphrasesAreServed(cached: String, asked: String) async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            _ = try await Self.ask(live, cached)
            let answer = try await Self.ask(live, asked)
            #expect(answer.status == "semantic-hit", "\(asked) should be answered by \(cached)")
            #expect(answer.score.flatMap(Double.init).map { $0 > 0.5 && $0 <= 1 } == true)
        }
    }

    @Test func aDecisionIsTheSameAcrossRestarts() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verifier-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try await LiveGateway.run(yaml: Self.yaml, directory: directory) { live in
            _ = try await Self.ask(live, "How do I reset my password?")
            return try await live.post(
                "/v1/chat/completions", SemanticCacheTests.chat("How can I reset my password?"),
                headers: [("x-routershift-cache", "no-store")]
            ).headers.first(name: "x-routershift-cache-verifier")
        }
        let second = try await LiveGateway.run(yaml: Self.yaml, directory: directory) { live in
            try await Self.ask(live, "How can I reset my password?").score
        }
        #expect(first != nil)
        #expect(first == second)
    }

    @Test func aVerifierForOtherFeaturesIsRefusedAtStart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verifier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var shipped =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "data/verifier.json")))
            as! [String: Any]
        shipped["means"] = Array((shipped["means"] as! [Any]).dropLast(10))
        let truncated = directory.appendingPathComponent("verifier.json")
        try JSONSerialization.data(withJSONObject: shipped).write(to: truncated)
        var settings = GatewayConfiguration.Cache()
        settings.verifier.file = truncated.path
        let store = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        let embedder = try LocalEmbedder(
            files: ModelFiles(directory: URL(fileURLWithPath: ModelFiles.defaultDirectory)))
        #expect(throws: GatewayError.self) { try SemanticCache(settings: settings, store: store, embedder: embedder) }
        settings.verifier.file = "data/verifier.json"
        _ = try SemanticCache(settings: settings, store: store, embedder: embedder)
    }
}

@Suite struct VerifierPartsTests {
    @Test func lexicalCuesSeeNegationsNumbersAndNames() {
        func cues(_ a: String, _ b: String) -> [Float] {
            let empty = EncodedText(tokenIDs: [], tokenStates: [], vector: [1, 0])
            let vocabulary = try! Vocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
            let features = VerifierFeatures.compute(
                VerifierInput(text: a, encoded: empty), VerifierInput(text: b, encoded: empty), vocabulary: vocabulary)
            let names = VerifierFeatures.scalarNames
            return ["negation_mismatch", "number_mismatch", "name_mismatch"].map { features[names.firstIndex(of: $0)!] }
        }
        #expect(cues("Should I learn Python?", "Should I not learn Python?")[0] == 1)
        #expect(cues("Why don't cats swim?", "Why do cats swim?")[0] == 1)
        #expect(cues("What is 15% of 200?", "What is 25% of 200?")[1] == 1)
        #expect(cues("The capital of France?", "The capital of Germany?")[2] == 1)
        #expect(cues("How do I reset my password?", "how can I reset my password")[0...2] == [0, 0, 0])
    }

    /// Points inside a ring are positives: no line separates them, a hidden layer does.
    @Test func aHiddenLayerLearnsWhatALogisticRegressionCannot() {
        var generator = SeededRandom(seed: 1)
        let rows = (0..<1200).map { _ in
            [Float.random(in: -1...1, using: &generator), Float.random(in: -1...1, using: &generator)]
        }
        let labels = rows.map { $0[0] * $0[0] + $0[1] * $0[1] < 0.5 }
        let matrix = rows.flatMap { $0 }
        func accuracy(_ hidden: [Int]) -> (Double, Perceptron) {
            let network = Perceptron.fit(
                matrix: matrix, count: rows.count, width: 2, labels: labels,
                settings: .init(hidden: hidden, weightDecay: 0, learningRate: 1e-2, batchSize: 32), checkpoints: [100]
            )[0]
            let logits = network.logits(matrix, count: rows.count)
            return (Double(zip(logits, labels).filter { ($0 > 0) == $1 }.count) / Double(rows.count), network)
        }
        let (linear, _) = accuracy([])
        let (hidden, network) = accuracy([16])
        #expect(linear < 0.75, "no line separates a disc")
        #expect(hidden > 0.95)
        #expect(accuracy([16]).1 == network, "fitting is deterministic")
        #expect(abs(network.logit(rows[7]) - network.logits(matrix, count: rows.count)[7]) < 1e-4)
    }

    @Test func plattScalingCalibratesOverconfidentLogits() {
        var generator = SeededRandom(seed: 3)
        // True probability sigmoid(z), reported as the logit 4z: calibration should find slope 1/4.
        let logits = (0..<20_000).map { _ in Double.random(in: -3...3, using: &generator) }
        let labels = logits.map { Double.random(in: 0..<1, using: &generator) < 1 / (1 + exp(-$0)) }
        let calibration = PlattScaling.fit(logits: logits.map { 4 * $0 }, labels: labels)
        #expect(abs(calibration.slope - 0.25) < 0.02)
        #expect(abs(calibration.intercept) < 0.05)
    }

    static let stateVocabulary = try! Vocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"])
    /// [CLS] hello [SEP] with 8-dimensional states.
    static let stateText = EncodedText(
        tokenIDs: [2, 4, 3], tokenStates: (0..<24).map { sin(Float($0)) }, vector: [0.6, 0.8, 0, 0, 0, 0, 0, 0])

    @Test func tokenStatesRoundTripThroughHalfPrecision() throws {
        let text = Self.stateText
        let (ids, states) = TokenStateCoding.encode(text, form: .half, vocabulary: Self.stateVocabulary)
        #expect(states.count == 48)
        let decoded = try #require(TokenStateCoding.decode(ids: ids, states: states, vector: text.vector))
        #expect(decoded.tokenIDs == text.tokenIDs)
        #expect(zip(decoded.tokenStates, text.tokenStates).allSatisfy { abs($0 - $1) < 1e-3 })
    }

    /// The stored form keeps the direction of every row the verifier reads and drops [CLS] and [SEP], which
    /// decode as zeros.
    @Test func tokenStatesRoundTripThroughTheRotatedForm() throws {
        let text = Self.stateText
        let (ids, states) = TokenStateCoding.encode(text, form: .rotated4, vocabulary: Self.stateVocabulary)
        let rowBytes = try #require(RotatedQuantizer(dimension: 8)).bytesPerRow
        #expect(states.count == 2 + 2 * 4 + rowBytes)
        let decoded = try #require(TokenStateCoding.decode(ids: ids, states: states, vector: text.vector))
        #expect(decoded.tokenIDs == text.tokenIDs)
        #expect(
            decoded.tokenStates[0..<8].allSatisfy { $0 == 0 } && decoded.tokenStates[16..<24].allSatisfy { $0 == 0 })
        let original = Array(text.tokenStates[8..<16])
        let restored = Array(decoded.tokenStates[8..<16])
        let dot = zip(original, restored).reduce(0) { $0 + $1.0 * $1.1 }
        let norms = original.reduce(0) { $0 + $1 * $1 }.squareRoot() * restored.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(dot / norms > 0.98)
    }

    @Test func malformedTokenStatesAreNoCandidate() throws {
        let text = Self.stateText
        let (ids, states) = TokenStateCoding.encode(text, form: .rotated4, vocabulary: Self.stateVocabulary)
        #expect(TokenStateCoding.decode(ids: ids, states: states.dropLast(), vector: text.vector) == nil)
        var wrongTag = states
        wrongTag[wrongTag.startIndex] = 9
        #expect(TokenStateCoding.decode(ids: ids, states: wrongTag, vector: text.vector) == nil)
        #expect(TokenStateCoding.decode(ids: ids.dropLast(), states: states, vector: text.vector) == nil)
        #expect(TokenStateCoding.decode(ids: ids, states: Data(), vector: text.vector) == nil)
    }
}
