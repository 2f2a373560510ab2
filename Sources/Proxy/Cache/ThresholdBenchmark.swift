import Embedding
import Foundation

/// `routershift cache bench --pairs`: how well cosine similarity separates duplicates at each threshold, and
/// what the verifier costs.
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
}

extension ThresholdBenchmark {
    /// What the verifier costs per candidate: both sides of each pair encoded and the second stored in `form`
    /// first (not timed), then decoding the stored side, the features of the pair and the verifier's score timed
    /// one pair at a time, as the lookup path does.
    ///
    /// - Returns: the median and 99th percentile in milliseconds.
    public static func verifierLatency(
        _ pairs: [LabelledPair], embedder: any TokenEmbedder, verifier: Verifier,
        form: TokenStateCoding.Form = .stored
    ) async throws -> (p50: Double, p99: Double) {
        guard let positions = verifier.positions(in: VerifierFeatures.names(dimension: embedder.dimension)) else {
            throw GatewayError.invalid("the verifier uses features this build does not compute; train it again")
        }
        let projects = positions != Array(positions.indices)
        var milliseconds: [Double] = []
        for start in stride(from: 0, to: pairs.count, by: 32) {
            let slice = Array(pairs[start..<min(start + 32, pairs.count)])
            let encoded = try await embedder.encode(slice.flatMap { [$0.first, $0.second] })
            let vocabulary = embedder.tokenizer.vocabulary
            for (offset, pair) in slice.enumerated() {
                let candidate = encoded[2 * offset + 1]
                let stored = TokenStateCoding.encode(candidate, form: form, vocabulary: vocabulary)
                let clock = ContinuousClock.now
                guard
                    let decoded = TokenStateCoding.decode(
                        ids: stored.ids, states: stored.states, vector: candidate.vector)
                else { continue }
                let features = VerifierFeatures.compute(
                    VerifierInput(text: pair.first, encoded: encoded[2 * offset]),
                    VerifierInput(text: pair.second, encoded: decoded), vocabulary: vocabulary)
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
