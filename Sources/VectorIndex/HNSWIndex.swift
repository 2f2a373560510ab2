/// An in-memory HNSW index over L2-normalised Float32 vectors with cosine (inner-product) similarity.
///
/// Thread-safe: any number of searches run concurrently; inserts and removals take the index alone for the
/// duration of one operation. Vectors are normalised on the way in, and stored once, in the graph.
///
/// ```swift
/// let index = try HNSWIndex(dimension: 384)
/// try index.insert(embedding, label: 42)
/// let hits = try index.search(query, k: 10, ef: 64)
/// ```
///
/// For an index that survives restarts, see ``PersistentHNSWIndex``.
public final class HNSWIndex: @unchecked Sendable {
    public let dimension: Int
    public let parameters: HNSWParameters
    /// Read and written only under `lock`.
    private(set) var graph: HNSWGraph
    let lock = ReadWriteLock()
    private let contexts: SearchContextPool

    /// - Parameters:
    ///   - dimension: the length of every vector.
    ///   - parameters: M, efConstruction and the default efSearch; hnswlib's defaults.
    ///   - capacity: slots to allocate up front; the index grows past it by doubling.
    public init(dimension: Int, parameters: HNSWParameters = HNSWParameters(), capacity: Int = 1024)
        throws(VectorIndexError)
    {
        guard dimension > 0 else { throw .invalidParameter("dimension must be positive, not \(dimension)") }
        try parameters.validate()
        self.dimension = dimension
        self.parameters = parameters
        graph = HNSWGraph(dimension: dimension, parameters: parameters, capacity: capacity)
        contexts = SearchContextPool(maxLinks: parameters.maxLinksLevel0, dimension: dimension)
    }

    // MARK: - Reading

    /// The number of live vectors.
    public var count: Int { lock.withReadLock { graph.liveCount } }

    public func contains(_ label: Int64) -> Bool {
        lock.withReadLock { graph.slot(of: label) != nil }
    }

    /// Every live label, in no particular order.
    public var labels: [Int64] { lock.withReadLock { Array(graph.slotsByLabel.keys) } }

    /// The stored (normalised) vector of `label`.
    public func vector(for label: Int64) -> [Float]? {
        lock.withReadLock {
            guard let slot = graph.slot(of: label) else { return nil }
            return Array(UnsafeBufferPointer(start: graph.storage.vector(slot), count: dimension))
        }
    }

    /// Bytes of memory the index holds for its vectors, links and labels.
    public var memoryBytes: Int {
        lock.withReadLock { graph.storage.bytesInUse + graph.slotsByLabel.count * 16 + graph.freeSlots.count * 4 }
    }

    // MARK: - Searching

    /// The `k` live vectors most similar to `query`, most similar first.
    ///
    /// - Parameters:
    ///   - ef: the search's candidate list; larger is slower and finds more of the true neighbours.
    ///     Defaults to ``HNSWParameters/efSearch``; never less than `k`.
    ///   - filter: only labels it admits are returned (see ``SearchFilter``).
    /// - Throws: ``VectorIndexError`` when `query` has the wrong dimension or no direction.
    public func search(_ query: [Float], k: Int, ef: Int? = nil, filter: SearchFilter? = nil) throws(VectorIndexError)
        -> [SearchResult]
    {
        let scale = try normalizationScale(of: query, dimension: dimension)
        return lock.withReadLock {
            contexts.withContext(slotCount: graph.storage.slotCount) { context in
                for index in 0..<dimension { context.query[index] = query[index] * scale }
                let found = search(context: context, k: k, ef: ef ?? parameters.efSearch, filter: filter)
                return found.map {
                    SearchResult(label: graph.storage.labels[Int($0.slot)], similarity: 1 - $0.distance)
                }
            }
        }
    }

    /// The exact `k` nearest live vectors, by scoring every admitted one.
    public func exactSearch(_ query: [Float], k: Int, filter: SearchFilter? = nil) throws(VectorIndexError)
        -> [SearchResult]
    {
        let scale = try normalizationScale(of: query, dimension: dimension)
        return lock.withReadLock {
            contexts.withContext(slotCount: graph.storage.slotCount) { context in
                for index in 0..<dimension { context.query[index] = query[index] * scale }
                return exactSearch(query: context.query, k: k, filter: filter).map {
                    SearchResult(label: graph.storage.labels[Int($0.slot)], similarity: 1 - $0.distance)
                }
            }
        }
    }

    private func search(context: SearchContext, k: Int, ef: Int, filter: SearchFilter?) -> [Neighbor] {
        let live = graph.liveCount
        guard live > 0, k > 0 else { return [] }
        guard let filter else {
            return graph.search(query: context.query, k: k, ef: ef, admission: LiveSlots(), context: context)
        }
        let expected = filter.expectedMatches ?? estimateMatches(filter)
        if expected <= Self.exactSearchCutoff(live: live) {
            return exactSearch(query: context.query, k: k, filter: filter)
        }
        let found = graph.search(
            query: context.query, k: k, ef: ef, admission: FilteredSlots(isIncluded: filter.isIncluded),
            context: context)
        // Fewer than k means the walk ran out of admitted nodes it could reach: only a scan can be sure.
        if found.count < k { return exactSearch(query: context.query, k: k, filter: filter) }
        return found
    }

    /// Below this many admitted vectors an exact scan beats a filtered graph walk: the walk must expand about
    /// `ef / selectivity` nodes to fill its list, while the scan pays a predicate per slot and a product per
    /// admitted vector (see `routershift-bench index --filtered`).
    static func exactSearchCutoff(live: Int) -> Int { max(live / 20, 1000) }

    private func exactSearch(query: UnsafePointer<Float>, k: Int, filter: SearchFilter?) -> [Neighbor] {
        let storage = graph.storage
        let rows = VectorRows(
            base: storage.vectors, count: storage.slotCount, dimension: dimension, stride: storage.vectorStride)
        if let filter {
            let admission = FilteredSlots(isIncluded: filter.isIncluded)
            return rows.topK(query: query, k: k, scoreEveryRow: false) { admission.admits(UInt32($0), in: storage) }
        }
        return rows.topK(query: query, k: k, scoreEveryRow: true) { !storage.deleted[$0] }
    }

    /// Estimates how many live labels `filter` admits from a sample of 256 evenly spaced slots.
    private func estimateMatches(_ filter: SearchFilter) -> Int {
        let storage = graph.storage
        let slots = storage.slotCount
        let samples = min(256, slots)
        var live = 0
        var admitted = 0
        for sample in 0..<samples {
            let slot = sample * slots / samples
            if storage.deleted[slot] { continue }
            live += 1
            if filter.isIncluded(storage.labels[slot]) { admitted += 1 }
        }
        guard live > 0 else { return 0 }
        return admitted * graph.liveCount / live
    }

    // MARK: - Writing

    /// Inserts `vector` under `label`, replacing the vector if the label is already present.
    public func insert(_ vector: [Float], label: Int64) throws(VectorIndexError) {
        try mutate { graph throws(VectorIndexError) in try Self.insert(vector, label: label, into: graph) }
    }

    /// Inserts many vectors; each is one operation, so searches interleave with a long batch.
    public func insert(contentsOf items: some Sequence<(label: Int64, vector: [Float])>) throws(VectorIndexError) {
        for item in items { try insert(item.vector, label: item.label) }
    }

    /// Removes `label`; returns whether it was present.
    @discardableResult
    public func remove(_ label: Int64) -> Bool {
        mutate { graph in graph.remove(label: label) }
    }

    /// Allocates room for `capacity` slots in one step, as before a bulk build.
    public func reserveCapacity(_ capacity: Int) {
        mutate { graph in graph.storage.reserve(capacity) }
    }

    /// Swaps in a graph read back from a store.
    func replaceGraph(with fresh: HNSWGraph) {
        lock.withWriteLock { graph = fresh }
    }

    /// Runs `body` with the graph under the write lock.
    func mutate<R, E: Error>(_ body: (HNSWGraph) throws(E) -> R) throws(E) -> R {
        try lock.withWriteLock { () throws(E) -> R in try body(graph) }
    }

    /// Validates, normalises into the writer's scratch buffer, and inserts. The caller holds the write lock.
    static func insert(_ vector: [Float], label: Int64, into graph: HNSWGraph) throws(VectorIndexError) {
        let scale = try normalizationScale(of: vector, dimension: graph.dimension)
        let scratch = graph.writerContext.query
        for index in 0..<graph.dimension { scratch[index] = vector[index] * scale }
        graph.insert(label: label, normalizedVector: scratch)
    }
}
