import Embedding
import Foundation
import VectorIndex

/// `routershift cache bench --replay`: a stream of prompts with cluster ids played through the semantic
/// layer's decision, once per policy. A prompt is answered from the cache when a stored prompt passes the
/// policy (the hit is wrong when the stored prompt is of another cluster); otherwise it is stored. The
/// lookup is the gateway's: of the 8 most similar stored prompts above the cosine floor, the first 3 scored in
/// turn by the verifier's own scoring (the new prompt's token states as encoded, the stored one's as an entry
/// keeps them, in half floats), the first that passes served. The adaptive policy runs the live audit controller, ``AuditedOperatingPoint``, with
/// the cluster label as its judge: a sampled share of hits is audited, each audit moves the confidence
/// sequence and the operating point, and an entry judged wrong stops serving semantic hits; near-misses are
/// audited at the same rate (which can loosen the point below the shipped one). Search is exact
/// here, where the gateway's HNSW index finds these candidates at a recall above 0.99.
public enum CacheReplay {
    public struct Prompt: Sendable, Equatable {
        public let text: String
        public let cluster: String

        public init(text: String, cluster: String) {
            self.text = text
            self.cluster = cluster
        }
    }

    /// The prompts in stream order, and the pairs of them labelled different, by position, smaller first.
    public struct Stream: Sendable {
        public let prompts: [Prompt]
        let labelledDifferent: Set<[Int]>

        public init(prompts: [Prompt]) {
            self.prompts = prompts
            labelledDifferent = []
        }

        /// Every distinct question of `pairs`, in an order shuffled by `seed`; the connected components of the
        /// duplicate pairs are the clusters (a question in no duplicate pair is a cluster of its own), and the
        /// pairs labelled not duplicate are kept to tell labelled wrong hits from unlabelled ones.
        public init(pairs: [LabelledPair], seed: UInt64) {
            var position: [String: Int] = [:]
            var texts: [String] = []
            for pair in pairs {
                for text in [pair.first, pair.second] where position[text] == nil {
                    position[text] = texts.count
                    texts.append(text)
                }
            }
            var parent = Array(texts.indices)
            func root(_ node: Int) -> Int {
                var node = node
                while parent[node] != node {
                    parent[node] = parent[parent[node]]
                    node = parent[node]
                }
                return node
            }
            for pair in pairs where pair.isDuplicate {
                let (a, b) = (root(position[pair.first]!), root(position[pair.second]!))
                if a != b { parent[max(a, b)] = min(a, b) }
            }
            var generator = SeededRandom(seed: seed)
            let order = texts.indices.shuffled(using: &generator)
            var streamPosition = [Int](repeating: 0, count: texts.count)
            for (offset, original) in order.enumerated() { streamPosition[original] = offset }
            prompts = order.map { Prompt(text: texts[$0], cluster: String(root($0))) }
            labelledDifferent = Set(
                pairs.filter { !$0.isDuplicate }.map {
                    [streamPosition[position[$0.first]!], streamPosition[position[$0.second]!]].sorted()
                })
        }

        /// A replay file: one prompt a line, a tab, its cluster id.
        public init(file path: String) throws {
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            prompts = try lines.enumerated().map { number, line in
                let fields = line.split(separator: "\t", maxSplits: 1)
                guard fields.count == 2, !fields[1].isEmpty else {
                    throw GatewayError.invalid("\(path):\(number + 1): expected a prompt, a tab and its cluster id")
                }
                return Prompt(text: String(fields[0]), cluster: String(fields[1]))
            }
            labelledDifferent = []
        }

        /// The stream as a replay file reads it.
        public var file: String {
            prompts.map { "\($0.text.replacingOccurrences(of: "\n", with: " "))\t\($0.cluster)\n" }.joined()
        }

        /// How many prompts have an earlier prompt of their cluster: the hits a perfect cache would serve.
        public var repeats: Int {
            var seen = Set<String>()
            return prompts.filter { !seen.insert($0.cluster).inserted }.count
        }
    }

    public enum Policy: Sendable, Equatable {
        /// The most similar stored prompt at or above this cosine, no verifier.
        case cosine(Double)
        /// Candidates above the verifier's cosine floor, served at or above this verifier score.
        case verifier(Double)
        /// The verifier at its shipped point, kept by audits of this share of hits (and of near-misses) at
        /// `maxWrongHitRate`, judged by `judge`.
        case adaptive(auditRate: Double, maxWrongHitRate: Double, seed: UInt64, judge: Judge = .label)
    }

    /// Who judges the loop's audits.
    public enum Judge: Sendable, Equatable {
        /// The cluster label: an audit is wrong exactly when the answer is another cluster's.
        case label
        /// The gateway's default judge, the embedder's cosine of the fresh and the cached answer at or above
        /// `agreement`, where the upstream answers by cluster (a cluster's answer is its first prompt's text,
        /// as the mock upstream answers each prompt of a cluster alike); its estimate corrected for `error`.
        case embedder(agreement: Double, error: JudgeError?)
    }

    /// One policy over the stream.
    public struct Outcome: Sendable {
        public let policy: Policy
        public let prompts: Int
        public let hits: Int
        /// Hits answered with another cluster's prompt.
        public let wrongHits: Int
        /// Of those, the ones whose pair the labels call different (the rest are unlabelled: some are
        /// duplicates the labels missed).
        public let labelledWrongHits: Int
        /// For each prompt, the earlier prompt it was answered with; nil for a miss.
        public let matches: [Int?]
        /// Hits by the rank of the candidate that served them, most similar first.
        public let servedRanks: [Int]
        /// Candidates the verifier scored on lookups that missed.
        public let verifiedOnMisses: Int
        /// The adaptive policy's controller at the end of the stream, and the entries it retired.
        public let loop: AuditedOperatingPoint?
        public let retired: Int

        public var hitRate: Double { Double(hits) / Double(max(prompts, 1)) }
        public var wrongHitShare: Double { hits == 0 ? 0 : Double(wrongHits) / Double(hits) }
        public var labelledWrongHitShare: Double { hits == 0 ? 0 : Double(labelledWrongHits) / Double(hits) }
    }

    /// The stream encoded once, each prompt's earlier prompts at or above the lowest floor any policy uses
    /// (most similar first), and the verifier's scores of pairs as they are asked for.
    public final class Prepared: @unchecked Sendable {
        let stream: Stream
        /// Each prompt as a lookup encodes it, and as an entry stores it.
        let queries: [EncodedText]
        let entries: [EncodedText]
        let earlier: [[(position: Int, similarity: Double)]]
        let verifier: SemanticCache.FittedVerifier?
        let embedder: any TokenEmbedder
        /// Scores by pair, `later * count + earlier`; one thread fills it.
        private var scores: [Int: Double] = [:]

        init(
            stream: Stream, queries: [EncodedText], entries: [EncodedText], earlier: [[(Int, Double)]],
            verifier: SemanticCache.FittedVerifier?, embedder: any TokenEmbedder
        ) {
            self.stream = stream
            self.queries = queries
            self.entries = entries
            self.earlier = earlier.map { $0.map { (position: $0.0, similarity: $0.1) } }
            self.verifier = verifier
            self.embedder = embedder
        }

        func score(_ later: Int, against stored: Int) -> Double {
            let key = later * queries.count + stored
            if let known = scores[key] { return known }
            let score = verifier!.score(
                VerifierInput(text: stream.prompts[later].text, encoded: queries[later]),
                VerifierInput(text: stream.prompts[stored].text, encoded: entries[stored]),
                vocabulary: embedder.tokenizer.vocabulary)
            scores[key] = score
            return score
        }

        /// Pairs scored so far.
        public var scoredPairs: Int { scores.count }

        /// Each cluster's first prompt, whose text is the cluster's answer to the embedder judge.
        private lazy var answers: [String: Int] = {
            var first: [String: Int] = [:]
            for (position, prompt) in stream.prompts.enumerated() where first[prompt.cluster] == nil {
                first[prompt.cluster] = position
            }
            return first
        }()

        /// Whether `judge` finds the answer to `stored`'s prompt wrong for `later`'s.
        func judgesWrong(_ later: Int, answeredBy stored: Int, judge: Judge) -> Bool {
            let (asked, cached) = (stream.prompts[later].cluster, stream.prompts[stored].cluster)
            switch judge {
            case .label:
                return asked != cached
            case .embedder(let agreement, _):
                let (fresh, answer) = (queries[answers[asked]!].vector, queries[answers[cached]!].vector)
                return Double(zip(fresh, answer).reduce(Float(0)) { $0 + $1.0 * $1.1 }) < agreement
            }
        }
    }

    /// How often `judge` errs against the cluster label on the hits `outcome` served: the wrong hits it calls
    /// right and the right ones it calls wrong, with their Clopper-Pearson intervals at `confidence`.
    public static func judgeError(
        of judge: Judge, on outcome: Outcome, in prepared: Prepared, confidence: Double = 0.95
    ) -> (error: JudgeError, missed: Int, wrong: Int, falseAlarms: Int, right: Int) {
        var (missed, wrong, falseAlarms, right) = (0, 0, 0, 0)
        for (position, match) in outcome.matches.enumerated() {
            guard let match else { continue }
            let judgedWrong = prepared.judgesWrong(position, answeredBy: match, judge: judge)
            if prepared.stream.prompts[position].cluster != prepared.stream.prompts[match].cluster {
                wrong += 1
                if !judgedWrong { missed += 1 }
            } else {
                right += 1
                if judgedWrong { falseAlarms += 1 }
            }
        }
        let error = JudgeError(
            missed: missed, ofWrong: wrong, falseAlarms: falseAlarms, ofRight: right, confidence: confidence)
        return (error, missed, wrong, falseAlarms, right)
    }

    /// Encodes `stream` and finds each prompt's earlier prompts at or above `lowestFloor`. A stored prompt's token
    /// states are what `storedForm` keeps of them.
    public static func prepare(
        _ stream: Stream, embedder: any TokenEmbedder, verifier: Verifier?, lowestFloor: Double,
        storedForm: TokenStateCoding.Form = .stored, progress: (Int) -> Void = { _ in }
    ) async throws -> Prepared {
        var fitted: SemanticCache.FittedVerifier?
        if let verifier {
            guard let positions = verifier.positions(in: VerifierFeatures.names(dimension: embedder.dimension)) else {
                throw GatewayError.invalid("the verifier uses features this build does not compute; train it again")
            }
            fitted = SemanticCache.FittedVerifier(verifier: verifier, positions: positions)
        }
        var queries: [EncodedText] = []
        var entries: [EncodedText] = []
        queries.reserveCapacity(stream.prompts.count)
        entries.reserveCapacity(stream.prompts.count)
        for start in stride(from: 0, to: stream.prompts.count, by: 32) {
            let batch = stream.prompts[start..<min(start + 32, stream.prompts.count)].map(\.text)
            for text in try await embedder.encode(batch) {
                queries.append(text)
                entries.append(
                    TokenStateCoding.asStored(text, form: storedForm, vocabulary: embedder.tokenizer.vocabulary))
            }
            progress(queries.count)
        }
        var index = FlatIndex(dimension: embedder.dimension)
        var earlier: [[(Int, Double)]] = []
        for (position, text) in queries.enumerated() {
            let found = position == 0 ? [] : try index.search(text.vector, k: position)
            earlier.append(
                found.filter { Double($0.similarity) >= lowestFloor }.map { (Int($0.label), Double($0.similarity)) })
            try index.add(text.vector, label: Int64(position))
        }
        return Prepared(
            stream: stream, queries: queries, entries: entries, earlier: earlier, verifier: fitted, embedder: embedder)
    }

    /// Plays the stream through `policy`.
    public static func run(_ policy: Policy, on prepared: Prepared) -> Outcome {
        let prompts = prepared.stream.prompts
        let verifier = prepared.verifier?.verifier
        var stored = [Bool](repeating: false, count: prompts.count)
        var retired = Set<Int>()
        var loop: AuditedOperatingPoint?
        var generator: SeededRandom?
        var (hits, wrong, labelledWrong) = (0, 0, 0)
        var matches = [Int?](repeating: nil, count: prompts.count)
        var servedRanks = [Int](repeating: 0, count: SemanticCache.candidates)
        var verifiedOnMisses = 0
        var judge = Judge.label
        if case .adaptive(_, _, let seed, let judgeOfLoop) = policy {
            loop = AuditedOperatingPoint()
            generator = SeededRandom(seed: seed)
            judge = judgeOfLoop
        }
        let judgeError: JudgeError? = if case .embedder(_, let error) = judge { error } else { nil }
        for position in prompts.indices {
            let strictness = loop?.strictness ?? 0
            let floor: Double
            let threshold: Double?
            switch policy {
            case .cosine(let cosine): (floor, threshold) = (cosine, nil)
            case .verifier(let score): (floor, threshold) = (verifier!.candidateThreshold, score)
            case .adaptive:
                (floor, threshold) = (verifier!.candidateThreshold + strictness, verifier!.threshold + strictness)
            }
            let candidates = prepared.earlier[position].lazy.filter { stored[$0.position] }.prefix(
                SemanticCache.candidates
            ).filter { $0.similarity >= floor && !retired.contains($0.position) }
            // The verifier scores the first few candidates at most, as the gateway's lookup does.
            let scored = threshold == nil ? candidates.prefix(1) : candidates.prefix(SemanticCache.maxVerified)
            let rank = scored.firstIndex { candidate in
                guard let threshold else { return true }
                return prepared.score(position, against: candidate.position) >= threshold
            }
            guard let rank else {
                stored[position] = true
                if threshold != nil { verifiedOnMisses += scored.count }
                // The adaptive loop audits near-misses too: the best candidate scored just below the point.
                if case .adaptive(let rate, let maximum, _, _) = policy, let threshold,
                    let near = scored.first(where: {
                        prepared.score(position, against: $0.position) >= threshold - AuditedOperatingPoint.nearMissBand
                    }), Double.random(in: 0..<1, using: &generator!) < rate
                {
                    _ = loop!.observeNearMiss(
                        wrong: prepared.judgesWrong(position, answeredBy: near.position, judge: judge),
                        maxWrongHitRate: maximum, judgeError: judgeError)
                }
                continue
            }
            let match = scored[rank]
            hits += 1
            servedRanks[scored.distance(from: scored.startIndex, to: rank)] += 1
            matches[position] = match.position
            let isWrong = prompts[match.position].cluster != prompts[position].cluster
            if isWrong {
                wrong += 1
                if prepared.stream.labelledDifferent.contains([match.position, position]) { labelledWrong += 1 }
            }
            if case .adaptive(let rate, let maximum, _, _) = policy,
                Double.random(in: 0..<1, using: &generator!) < rate
            {
                let judgedWrong = prepared.judgesWrong(position, answeredBy: match.position, judge: judge)
                _ = loop!.observe(wrong: judgedWrong, maxWrongHitRate: maximum, judgeError: judgeError)
                if judgedWrong { retired.insert(match.position) }
            }
        }
        return Outcome(
            policy: policy, prompts: prompts.count, hits: hits, wrongHits: wrong, labelledWrongHits: labelledWrong,
            matches: matches, servedRanks: servedRanks, verifiedOnMisses: verifiedOnMisses, loop: loop,
            retired: retired.count)
    }
}
