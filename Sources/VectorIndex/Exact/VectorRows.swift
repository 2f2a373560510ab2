import CBLAS
import CVectorKernels

/// Row-major Float32 vectors, `stride` floats apart: the HNSW storage and ``FlatIndex`` alike.
struct VectorRows {
    let base: UnsafePointer<Float>
    let count: Int
    let dimension: Int
    let stride: Int

    @inline(__always)
    func row(_ index: Int) -> UnsafePointer<Float> { base + index &* stride }

    /// Scores every row against `query` with one `sgemv`.
    ///
    /// Measured with `routershift-bench kernels` (100,000 x 384, one thread, AVX-512 machine): a full scan
    /// costs 128 ns a row with sgemv and 124 ns with the SIMD ``rs_dot4`` loop, both at memory speed, so
    /// BLAS does the contiguous scans (and batches of queries, as sgemm, in ``FlatIndex``); rows scattered
    /// through memory go through ``rs_dot4``, which needs no gather; a single pair through ``rs_dot``
    /// (22 ns against 25 ns for `cblas_sdot`, which pays its call setup on every pair).
    func scoreAll(query: UnsafePointer<Float>, into scores: UnsafeMutablePointer<Float>) {
        guard count > 0 else { return }
        cblas_sgemv(
            CblasRowMajor, CblasNoTrans, Int32(count), Int32(dimension), 1, base, Int32(stride), query, 1, 0,
            scores, 1)
    }

    /// Scores the rows at `indices` against `query`, four at a time.
    func score(query: UnsafePointer<Float>, indices: UnsafeBufferPointer<Int>, into scores: UnsafeMutablePointer<Float>)
    {
        var position = 0
        while position + 4 <= indices.count {
            rs_dot4(
                query, row(indices[position]), row(indices[position + 1]), row(indices[position + 2]),
                row(indices[position + 3]), dimension, scores + position)
            position += 4
        }
        while position < indices.count {
            scores[position] = rs_dot(query, row(indices[position]), dimension)
            position += 1
        }
    }

    /// The `k` rows most similar to `query` among those `admits` accepts, most similar first.
    ///
    /// With `scoreEveryRow` (most rows admitted) the scan is one `sgemv` and rejected rows are skipped
    /// afterwards; otherwise only the admitted rows are collected and scored with
    /// ``score(query:indices:into:)``.
    func topK(query: UnsafePointer<Float>, k: Int, scoreEveryRow: Bool, admits: (Int) -> Bool) -> [Neighbor] {
        guard k > 0, count > 0 else { return [] }
        var heap = NeighborHeap<FarthestFirst>(capacity: k + 1)
        defer { heap.deallocate() }
        func offer(_ index: Int, _ score: Float) {
            let candidate = Neighbor(distance: 1 - score, slot: UInt32(index))
            if heap.count < k {
                heap.push(candidate)
            } else if candidate.distance < heap.top.distance {
                heap.replaceTop(with: candidate)
            }
        }
        if scoreEveryRow {
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { scores.deallocate() }
            scoreAll(query: query, into: scores)
            for index in 0..<count where admits(index) { offer(index, scores[index]) }
        } else {
            let chunk = 1024
            let indices = UnsafeMutablePointer<Int>.allocate(capacity: chunk)
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
            defer {
                indices.deallocate()
                scores.deallocate()
            }
            var pending = 0
            func flush() {
                score(query: query, indices: UnsafeBufferPointer(start: indices, count: pending), into: scores)
                for position in 0..<pending { offer(indices[position], scores[position]) }
                pending = 0
            }
            for index in 0..<count where admits(index) {
                indices[pending] = index
                pending += 1
                if pending == chunk { flush() }
            }
            flush()
        }
        return heap.drainNearestFirst()
    }
}
