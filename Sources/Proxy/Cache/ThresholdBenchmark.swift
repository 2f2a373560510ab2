import Embedding
import Foundation
import VectorIndex

/// `routershift cache bench`: how well cosine similarity separates duplicates at each threshold, and how a
/// stream of prompts would have hit the cache.
public enum ThresholdBenchmark {
    /// Embeds both sides of every pair (each distinct text once) and scores pairs by cosine similarity.
    public static func cosines(
        _ pairs: [LabelledPair], embedder: any Embedder, progress: (Int, Int) -> Void = { _, _ in }
    )
        async throws -> [Double]
    {
        let texts = Array(Set(pairs.flatMap { [$0.first, $0.second] }))
        var vectors: [String: [Float]] = [:]
        let batch = 64
        for start in stride(from: 0, to: texts.count, by: batch) {
            let slice = Array(texts[start..<min(start + batch, texts.count)])
            for (text, vector) in zip(slice, try await embedder.embed(slice)) { vectors[text] = vector }
            progress(min(start + batch, texts.count), texts.count)
        }
        return pairs.map { pair in
            let (a, b) = (vectors[pair.first]!, vectors[pair.second]!)
            return Double(zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 })
        }
    }

    /// One threshold of a replay: the share of prompts answered from the cache, and of those the share
    /// answered with another cluster's answer.
    public struct ReplayPoint: Sendable {
        public let threshold: Double
        public let hitRate: Double
        /// nil when the stream carries no cluster ids.
        public let wrongHitRate: Double?
    }

    /// Replays `prompts` (with optional cluster ids) through the cache logic at each threshold: a prompt
    /// whose most similar stored prompt reaches the threshold is a hit; otherwise it is stored.
    public static func replay(
        _ prompts: [(text: String, cluster: String?)], embedder: any Embedder, thresholds: [Double]
    ) async throws
        -> [ReplayPoint]
    {
        let lowest = thresholds.min() ?? 0
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: prompts.count, by: 64) {
            vectors += try await embedder.embed(prompts[start..<min(start + 64, prompts.count)].map(\.text))
        }
        // For each prompt, the earlier prompts at or above the lowest threshold, most similar first.
        var index = FlatIndex(dimension: embedder.dimension)
        var earlier: [[(Int, Double)]] = []
        for (position, vector) in vectors.enumerated() {
            let found = position == 0 ? [] : try index.search(vector, k: position)
            earlier.append(
                found.filter { Double($0.similarity) >= lowest }.map { (Int($0.label), Double($0.similarity)) })
            try index.add(vector, label: Int64(position))
        }
        return thresholds.map { threshold in
            var stored = [Bool](repeating: false, count: prompts.count)
            var hits = 0
            var wrong = 0
            for position in prompts.indices {
                let text = prompts[position].text
                if let match = earlier[position].first(where: {
                    stored[$0.0] && ($0.1 >= threshold || prompts[$0.0].text == text)
                }) {
                    hits += 1
                    if let cluster = prompts[position].cluster, prompts[match.0].cluster != cluster { wrong += 1 }
                } else {
                    stored[position] = true
                }
            }
            let clustered = prompts.contains { $0.cluster != nil }
            return ReplayPoint(
                threshold: threshold, hitRate: Double(hits) / Double(max(prompts.count, 1)),
                wrongHitRate: clustered ? (hits == 0 ? 0 : Double(wrong) / Double(hits)) : nil)
        }
    }
}

extension ThresholdBenchmark {
    /// What the verifier costs per candidate: both sides of each pair encoded first (not timed), then the
    /// features of the pair and the verifier's score timed one pair at a time, as the lookup path does.
    ///
    /// - Returns: the median and 99th percentile in milliseconds.
    public static func verifierLatency(
        _ pairs: [LabelledPair], embedder: any TokenEmbedder, verifier: Verifier
    ) async throws -> (p50: Double, p99: Double) {
        guard let positions = verifier.positions(in: VerifierFeatures.names(dimension: embedder.dimension)) else {
            throw GatewayError.invalid("the verifier uses features this build does not compute; train it again")
        }
        let projects = positions != Array(positions.indices)
        var milliseconds: [Double] = []
        for start in stride(from: 0, to: pairs.count, by: 32) {
            let slice = Array(pairs[start..<min(start + 32, pairs.count)])
            let encoded = try await embedder.encode(slice.flatMap { [$0.first, $0.second] })
            for (offset, pair) in slice.enumerated() {
                let clock = ContinuousClock.now
                let features = VerifierFeatures.compute(
                    VerifierInput(text: pair.first, encoded: encoded[2 * offset]),
                    VerifierInput(text: pair.second, encoded: encoded[2 * offset + 1]),
                    vocabulary: embedder.tokenizer.vocabulary)
                let score = verifier.score(projects ? positions.map { features[$0] } : features)
                let elapsed = ContinuousClock.now - clock
                precondition(score.isFinite)
                milliseconds.append(
                    Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            }
        }
        milliseconds.sort()
        guard !milliseconds.isEmpty else { return (0, 0) }
        return (
            milliseconds[milliseconds.count / 2],
            milliseconds[min(milliseconds.count - 1, milliseconds.count * 99 / 100)]
        )
    }
}
