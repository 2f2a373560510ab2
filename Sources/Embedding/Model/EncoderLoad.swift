/// What the local embedder's scheduler is doing, for metrics: texts waiting for a forward pass now, and
/// how many texts each pass so far carried.
public struct EncoderLoad: Sendable, Equatable {
    /// The upper bounds of the batch-size buckets, in texts per forward pass.
    public static let batchSizeBounds = [1, 2, 4, 8, 16, 32, 64, 128]

    /// Texts queued and not yet taken by a worker.
    public var waitingTexts = 0
    /// Forward passes whose text count was at most the bound at the same place in ``batchSizeBounds``
    /// (not cumulative); passes above the last bound are counted only in ``batches``.
    public var batchSizeCounts = [Int](repeating: 0, count: EncoderLoad.batchSizeBounds.count)
    public var batches = 0
    /// Texts over all passes.
    public var batchedTexts = 0

    mutating func recordBatch(texts: Int) {
        batches += 1
        batchedTexts += texts
        if let bucket = Self.batchSizeBounds.firstIndex(where: { texts <= $0 }) { batchSizeCounts[bucket] += 1 }
    }
}
