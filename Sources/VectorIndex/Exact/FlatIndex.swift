import CBLAS

/// Exact nearest-neighbour search by scoring every vector: ground truth for recall, and the right index
/// for small collections.
///
/// Vectors are kept contiguous, so a batch of queries is one `sgemm` per block of rows.
public struct FlatIndex: Sendable {
    public let dimension: Int
    private var vectors: [Float] = []
    private var labels: [Int64] = []

    public init(dimension: Int) {
        self.dimension = dimension
    }

    public var count: Int { labels.count }

    /// Adds a vector, L2-normalised on the way in.
    public mutating func add(_ vector: [Float], label: Int64) throws(VectorIndexError) {
        let scale = try normalizationScale(of: vector, dimension: dimension)
        vectors.append(contentsOf: vector.map { $0 * scale })
        labels.append(label)
    }

    /// The `k` most similar vectors to `query`, most similar first.
    public func search(_ query: [Float], k: Int, filter: SearchFilter? = nil) throws(VectorIndexError) -> [SearchResult]
    {
        let scale = try normalizationScale(of: query, dimension: dimension)
        let normalized = query.map { $0 * scale }
        return vectors.withUnsafeBufferPointer { buffer in
            normalized.withUnsafeBufferPointer { queryBuffer in
                let rows = VectorRows(base: buffer.baseAddress!, count: count, dimension: dimension, stride: dimension)
                let found = rows.topK(
                    query: queryBuffer.baseAddress!, k: k, scoreEveryRow: filter == nil,
                    admits: { filter?.isIncluded(labels[$0]) ?? true })
                return found.map { SearchResult(label: labels[Int($0.slot)], similarity: 1 - $0.distance) }
            }
        }
    }

    /// The `k` most similar vectors to each of `queries`, scored as one matrix product per block of 4,096 rows.
    public func search(batch queries: [[Float]], k: Int) throws(VectorIndexError) -> [[SearchResult]] {
        guard count > 0, !queries.isEmpty else { return queries.map { _ in [] } }
        var matrix: [Float] = []
        matrix.reserveCapacity(queries.count * dimension)
        for query in queries {
            let scale = try normalizationScale(of: query, dimension: dimension)
            matrix.append(contentsOf: query.map { $0 * scale })
        }
        var heaps = (0..<queries.count).map { _ in NeighborHeap<FarthestFirst>(capacity: k + 1) }
        defer { heaps.forEach { $0.deallocate() } }
        let block = 4096
        var scores = [Float](repeating: 0, count: queries.count * block)
        for start in stride(from: 0, to: count, by: block) {
            let rows = min(block, count - start)
            vectors.withUnsafeBufferPointer { base in
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queries.count), Int32(rows), Int32(dimension), 1,
                    matrix, Int32(dimension), base.baseAddress! + start * dimension, Int32(dimension), 0, &scores,
                    Int32(rows))
            }
            for query in 0..<queries.count {
                for row in 0..<rows {
                    let candidate = Neighbor(distance: 1 - scores[query * rows + row], slot: UInt32(start + row))
                    if heaps[query].count < k {
                        heaps[query].push(candidate)
                    } else if candidate.distance < heaps[query].top.distance {
                        heaps[query].replaceTop(with: candidate)
                    }
                }
            }
        }
        return heaps.indices.map { query in
            heaps[query].drainNearestFirst().map {
                SearchResult(label: labels[Int($0.slot)], similarity: 1 - $0.distance)
            }
        }
    }
}

/// The factor that L2-normalises `vector`, after checking its length and values.
func normalizationScale(of vector: [Float], dimension: Int) throws(VectorIndexError) -> Float {
    guard vector.count == dimension else {
        throw .dimensionMismatch(expected: dimension, actual: vector.count)
    }
    var sum: Float = 0
    for value in vector { sum += value * value }
    guard sum.isFinite else { throw .invalidVector("a component is NaN or infinite") }
    guard sum > 0 else { throw .invalidVector("the vector is all zeros") }
    return 1 / sum.squareRoot()
}
