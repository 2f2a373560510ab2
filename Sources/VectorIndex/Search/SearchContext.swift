/// The scratch memory of one search: visited tags, the two heaps, the neighbour batch and the query.
///
/// A context is used by one thread at a time; ``SearchContextPool`` hands them out so concurrent queries
/// never share one and no query allocates once the pool is warm.
final class SearchContext: @unchecked Sendable {
    var visited: VisitedSet
    var candidates = NeighborHeap<NearestFirst>()
    var results = NeighborHeap<FarthestFirst>()
    /// Unvisited neighbours of the node being expanded, whose distances are computed together.
    let batch: UnsafeMutablePointer<UInt32>
    let batchDistances: UnsafeMutablePointer<Float>
    /// The normalised query.
    let query: UnsafeMutablePointer<Float>
    let maxBatch: Int

    init(slotCapacity: Int, maxLinks: Int, dimension: Int) {
        visited = VisitedSet(capacity: slotCapacity)
        maxBatch = maxLinks
        batch = .allocate(capacity: maxLinks)
        batchDistances = .allocate(capacity: maxLinks + 4)
        query = .allocate(capacity: max(dimension, 1))
    }

    deinit {
        visited.deallocate()
        candidates.deallocate()
        results.deallocate()
        batch.deallocate()
        batchDistances.deallocate()
        query.deallocate()
    }
}

/// A free list of ``SearchContext``s shared by the readers of one index.
///
/// Guarded by a pthread lock rather than `Synchronization.Mutex`: ThreadSanitizer sees the ordering a
/// pthread lock gives, but not the Mutex's (its futex path is not instrumented), and reported races here.
final class SearchContextPool: @unchecked Sendable {
    private let lock = ReadWriteLock()
    /// Touched only under `lock`'s write lock.
    private var free: [SearchContext] = []
    private let maxLinks: Int
    private let dimension: Int

    init(maxLinks: Int, dimension: Int) {
        self.maxLinks = maxLinks
        self.dimension = dimension
    }

    /// Runs `body` with a context of its own, returned to the pool afterwards.
    func withContext<R>(slotCount: Int, _ body: (SearchContext) throws -> R) rethrows -> R {
        let context =
            lock.withWriteLock { free.popLast() }
            ?? SearchContext(slotCapacity: slotCount, maxLinks: maxLinks, dimension: dimension)
        defer { lock.withWriteLock { free.append(context) } }
        return try body(context)
    }
}
