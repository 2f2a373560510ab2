import GRDB
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An ``HNSWIndex`` kept in a SQLite database: every insert and removal writes the rows it changed in the
/// same transaction, so a process killed at any instant reopens to the last committed state, and opening
/// reads the graph back instead of rebuilding it.
///
/// ```swift
/// let database = try DatabasePool(path: "cache.sqlite")
/// let index = try PersistentHNSWIndex(database: database, name: "prompts", dimension: 384)
/// try database.write { db in
///     try db.execute(sql: "INSERT INTO entry ...")
///     try index.insert(embedding, label: db.lastInsertedRowID, in: db)
/// }
/// ```
///
/// Searches read memory only. A change is visible to searches from the moment it is made, before its
/// transaction commits. If the transaction rolls back, the graph is reloaded from the database at the start
/// of the next write (SQLite cannot be read from inside a rollback); until then searches may still return a
/// label whose insert rolled back, or miss one whose removal did, so callers resolve labels against their
/// own rows. All mutations run on the database's writer, which serialises them.
///
/// ``saveSnapshot()`` copies the graph to a file beside the database (``GraphSnapshot``), which the next
/// opening reads instead of the rows when it still describes them: at a million vectors that turns a reopen
/// of seconds into a fraction of one.
public final class PersistentHNSWIndex: Sendable {
    public let name: String
    private let database: any DatabaseWriter
    private let store: VectorIndexStore
    private let index: HNSWIndex
    /// Set when a transaction that changed the graph rolled back.
    private let isStale = Atomic<Bool>(false)
    /// The snapshot file, beside the database file; nil for a database in memory.
    let snapshotPath: String?
    /// The generation the snapshot file holds (read at opening or written since), -1 when unknown.
    private let snapshotGeneration: Atomic<Int64>
    /// Whether opening read the graph from the snapshot rather than the rows.
    public let openedFromSnapshot: Bool

    /// Opens the index `name` in `database`, creating it if it does not exist.
    ///
    /// - Parameters:
    ///   - dimension: must match the stored index, if any.
    ///   - parameters: used when creating; a stored index keeps its own M, efConstruction and seed, and
    ///     takes the new efSearch.
    /// - Throws: ``VectorIndexError`` if the stored index has another dimension or M, or its rows are
    ///   inconsistent; a GRDB error if the database cannot be read.
    public init(
        database: any DatabaseWriter, name: String = "default", dimension: Int,
        parameters: HNSWParameters = HNSWParameters()
    ) throws {
        self.name = name
        self.database = database
        store = try VectorIndexStore(name: name)
        let store = store
        let snapshotPath = Self.snapshotPath(of: database, name: name)
        self.snapshotPath = snapshotPath
        let (index, generation) = try database.write { db -> (HNSWIndex, Int64?) in
            try store.createSchema(db)
            guard var meta = try store.readMeta(db) else {
                let index = try HNSWIndex(dimension: dimension, parameters: parameters)
                try store.writeMeta(
                    db, .init(dimension: dimension, parameters: parameters, entryPoint: nil, maxLevel: 0))
                return (index, nil)
            }
            guard meta.dimension == dimension else {
                throw VectorIndexError.dimensionMismatch(expected: meta.dimension, actual: dimension)
            }
            guard meta.parameters.m == parameters.m else {
                throw VectorIndexError.invalidParameter("index \(name) was built with M = \(meta.parameters.m)")
            }
            meta.parameters.efSearch = parameters.efSearch
            try store.updateEfSearch(db, parameters.efSearch)
            if let snapshotPath, let (index, generation) = try Self.loadSnapshot(snapshotPath, db, store, meta) {
                return (index, generation)
            }
            return (try Self.loadIndex(db, store: store, meta: meta), nil)
        }
        self.index = index
        openedFromSnapshot = generation != nil
        snapshotGeneration = Atomic(generation ?? -1)
    }

    /// The snapshot file of the index `name` in `database`: `<database file>.index-<name>`.
    private static func snapshotPath(of database: any DatabaseWriter, name: String) -> String? {
        let path = database.path
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else { return nil }
        return path + ".index-" + name
    }

    /// The index in the snapshot at `path` and its generation, if the snapshot holds the stored index's
    /// present state; nil otherwise. A snapshot that claims that state but is damaged is removed: the rows
    /// are read instead, and the next ``saveSnapshot()`` writes a sound one.
    private static func loadSnapshot(
        _ path: String, _ db: Database, _ store: VectorIndexStore, _ meta: VectorIndexStore.Meta
    ) throws -> (HNSWIndex, Int64)? {
        let state = try store.snapshotState(db)
        let expected = GraphSnapshot.Header(
            dimension: Int64(meta.dimension), m: Int64(meta.parameters.m), slotCount: state.slots,
            entryPoint: meta.entryPoint.map { Int64($0) } ?? -1, maxLevel: Int64(meta.maxLevel),
            generation: state.generation, incarnation: state.incarnation)
        do throws(VectorIndexError) {
            guard let graph = try GraphSnapshot.read(path, expected: expected, parameters: meta.parameters) else {
                return nil
            }
            try store.validateLinks(of: graph, meta: meta)
            let index = try HNSWIndex(dimension: meta.dimension, parameters: meta.parameters)
            index.replaceGraph(with: graph)
            return (index, state.generation)
        } catch {
            unlink(path)
            return nil
        }
    }

    /// Writes the graph to the snapshot file if it changed since the file was last read or written, so the
    /// next opening can read it instead of the rows; the gateway does it when it stops. Waits for the
    /// database's writer, so the graph written is the committed one.
    ///
    /// - Returns: whether a snapshot was written.
    @discardableResult
    public func saveSnapshot() throws -> Bool {
        guard let snapshotPath else { return false }
        return try database.write { db in
            if isStale.load(ordering: .acquiring) { try reload(db) }
            let state = try store.snapshotState(db)
            guard state.generation != snapshotGeneration.load(ordering: .acquiring) else { return false }
            try index.lock.withReadLock {
                try GraphSnapshot.write(
                    index.graph, generation: state.generation, incarnation: state.incarnation, to: snapshotPath)
            }
            snapshotGeneration.store(state.generation, ordering: .releasing)
            return true
        }
    }

    private static func loadIndex(_ db: Database, store: VectorIndexStore, meta: VectorIndexStore.Meta) throws
        -> HNSWIndex
    {
        let index = try HNSWIndex(dimension: meta.dimension, parameters: meta.parameters)
        try store.load(db, meta: meta, into: index.graph)
        return index
    }

    /// Writes a whole in-memory index as the index `name`, replacing any stored one, in one transaction.
    public static func save(_ index: HNSWIndex, to database: any DatabaseWriter, name: String = "default") throws
        -> PersistentHNSWIndex
    {
        let store = try VectorIndexStore(name: name)
        if let snapshot = snapshotPath(of: database, name: name) { unlink(snapshot) }
        try database.write { db in
            try store.drop(db)
            try store.createSchema(db)
            try index.lock.withReadLock {
                let graph = index.graph
                // Lazily, one row at a time: no second copy of the vectors while saving.
                let rows = (0..<UInt32(graph.storage.slotCount)).lazy.map {
                    NodeRow(slot: $0, of: graph, includingVector: true)
                }
                try store.write(db, rows: rows, meta: meta(of: graph))
            }
        }
        return try PersistentHNSWIndex(
            database: database, name: name, dimension: index.dimension, parameters: index.parameters)
    }

    // MARK: - Reading

    public var dimension: Int { index.dimension }
    public var count: Int { index.count }
    public var labels: [Int64] { index.labels }
    public var memoryBytes: Int { index.memoryBytes }
    public func contains(_ label: Int64) -> Bool { index.contains(label) }
    public func vector(for label: Int64) -> [Float]? { index.vector(for: label) }

    /// See ``HNSWIndex/search(_:k:ef:filter:)``.
    public func search(_ query: [Float], k: Int, ef: Int? = nil, filter: SearchFilter? = nil) throws(VectorIndexError)
        -> [SearchResult]
    {
        try index.search(query, k: k, ef: ef, filter: filter)
    }

    /// See ``HNSWIndex/exactSearch(_:k:filter:)``.
    public func exactSearch(_ query: [Float], k: Int, filter: SearchFilter? = nil) throws(VectorIndexError)
        -> [SearchResult]
    {
        try index.exactSearch(query, k: k, filter: filter)
    }

    // MARK: - Writing

    /// Inserts or replaces `label` in its own transaction.
    public func insert(_ vector: [Float], label: Int64) throws {
        try database.write { db in try insert(vector, label: label, in: db) }
    }

    /// Inserts or replaces `label` within the caller's transaction on this index's database.
    public func insert(_ vector: [Float], label: Int64, in db: Database) throws {
        try apply(in: db) { graph in try HNSWIndex.insert(vector, label: label, into: graph) }
    }

    /// Inserts many vectors in one transaction.
    public func insert(contentsOf items: some Sequence<(label: Int64, vector: [Float])>) throws {
        try database.write { db in
            for item in items { try insert(item.vector, label: item.label, in: db) }
        }
    }

    /// Removes `label` in its own transaction; returns whether it was present.
    @discardableResult
    public func remove(_ label: Int64) throws -> Bool {
        try database.write { db in try remove(label, in: db) }
    }

    /// Removes `label` within the caller's transaction; returns whether it was present.
    @discardableResult
    public func remove(_ label: Int64, in db: Database) throws -> Bool {
        try apply(in: db) { graph in graph.remove(label: label) }
    }

    /// Reads the index back from the database, discarding the in-memory graph.
    public func reload() throws {
        try database.write { db in try reload(db) }
    }

    /// Runs `mutation` on the graph under its write lock, then writes the rows it changed inside a savepoint
    /// of the caller's transaction. If the write fails the graph is reloaded at once; if the transaction
    /// later rolls back, before the next mutation. Either way no row is ever written from a graph that
    /// differs from the file.
    private func apply<R>(in db: Database, _ mutation: (HNSWGraph) throws -> R) throws -> R {
        if isStale.load(ordering: .acquiring) { try reload(db) }
        let (result, rows, meta) = try index.mutate { graph in
            graph.changes = GraphChanges()
            defer { graph.changes = nil }
            let result = try mutation(graph)
            let changes = graph.changes!
            var rows = changes.nodes.map { NodeRow(slot: $0, of: graph, includingVector: true) }
            for slot in changes.links where !changes.nodes.contains(slot) {
                rows.append(NodeRow(slot: slot, of: graph, includingVector: false))
            }
            return (result, rows, Self.meta(of: graph))
        }
        guard !rows.isEmpty else { return result }
        do {
            try db.inSavepoint {
                try store.write(db, rows: rows, meta: meta)
                return .commit
            }
        } catch {
            try? reload(db)
            throw error
        }
        db.afterNextTransaction(
            onCommit: { _ in }, onRollback: { [weak self] _ in self?.isStale.store(true, ordering: .releasing) })
        return result
    }

    private func reload(_ db: Database) throws {
        guard let meta = try store.readMeta(db) else {
            throw VectorIndexError.corruptStore("index \(name) is no longer in the database")
        }
        let fresh = try Self.loadIndex(db, store: store, meta: meta)
        index.replaceGraph(with: fresh.graph)
        isStale.store(false, ordering: .releasing)
    }

    private static func meta(of graph: HNSWGraph) -> VectorIndexStore.Meta {
        .init(
            dimension: graph.dimension, parameters: graph.parameters, entryPoint: graph.entryPoint,
            maxLevel: graph.maxLevel)
    }
}
