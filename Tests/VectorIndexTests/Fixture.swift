import BenchmarkSupport
import VectorIndex

/// An index of clustered vectors labelled 0..<count, the vectors, and held-out queries drawn from the
/// same clusters.
struct Fixture {
    let index: HNSWIndex
    let vectors: [[Float]]
    let queries: [[Float]]

    init(count: Int, queries queryCount: Int = 100, dimension: Int = 48, seed: UInt64 = 7) throws {
        var source = ClusteredVectors(dimension: dimension, clusters: max(count / 100, 4), noise: 0.12, seed: seed)
        vectors = source.make(count)
        queries = source.make(queryCount)
        index = try HNSWIndex(dimension: dimension)
        for (label, vector) in vectors.enumerated() { try index.insert(vector, label: Int64(label)) }
    }
}

/// The mean fraction of the exact top-k that `found` recovered, query by query.
func recall(found: [[SearchResult]], truth: [[SearchResult]]) -> Double {
    precondition(found.count == truth.count)
    var total = 0.0
    for (hits, exact) in zip(found, truth) where !exact.isEmpty {
        let expected = Set(exact.map(\.label))
        total += Double(hits.filter { expected.contains($0.label) }.count) / Double(exact.count)
    }
    return total / Double(found.count)
}

/// Recall@k of `index.search` against `index.exactSearch` over `queries`.
func measuredRecall(
    _ index: HNSWIndex, queries: [[Float]], k: Int = 10, ef: Int = 64, filter: SearchFilter? = nil
) throws -> Double {
    let found = try queries.map { try index.search($0, k: k, ef: ef, filter: filter) }
    let truth = try queries.map { try index.exactSearch($0, k: k, filter: filter) }
    return recall(found: found, truth: truth)
}
