#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A binary copy of a persisted graph's memory, in a file beside the database, so that opening a large
/// index copies its arrays back instead of stepping through one SQLite row per slot (at a million 384-d
/// vectors, about ten times faster).
///
/// The database stays the source of truth: a snapshot records the index's `generation`, which every
/// change to the index's metadata row advances (a trigger in the database does it, so a gateway of an
/// earlier version that writes the index advances it too), and a snapshot of another generation, size,
/// dimension or M is ignored and the rows are read instead. The file is written to a temporary name,
/// synced and renamed, so a crash leaves the previous snapshot or none.
///
/// Layout, native byte order (a snapshot is local to the machine that wrote it): a header of nine Int64
/// (magic, version, dimension, M, slot count, entry point or -1, top level, generation, incarnation), then the slots'
/// labels (Int64), levels (UInt8), tombstone flags (UInt8), vectors (`vectorStride` floats each), level-0
/// links (`1 + 2M` words each), and the upper-level links of every slot above level 0 in slot order.
enum GraphSnapshot {
    static let magic: Int64 = 0x5253_484E_5357_0001  // "RSHNSW" and a format number
    static let version: Int64 = 1

    struct Header: Equatable {
        var dimension: Int64
        var m: Int64
        var slotCount: Int64
        var entryPoint: Int64
        var maxLevel: Int64
        var generation: Int64
        var incarnation: Int64

        static let fields = 7
    }

    /// Writes `graph` as the state `generation` of the index `incarnation` to `url`; the caller holds the
    /// graph's read lock.
    static func write(_ graph: HNSWGraph, generation: Int64, incarnation: Int64, to url: String)
        throws(VectorIndexError)
    {
        let temporary = url + ".tmp"
        guard let file = fopen(temporary, "wb") else {
            throw .corruptStore("cannot write the index snapshot \(temporary): errno \(errno)")
        }
        let storage = graph.storage
        let count = storage.slotCount
        var ok = true
        func put(_ pointer: UnsafeRawPointer, _ bytes: Int) {
            if ok, bytes > 0 { ok = fwrite(pointer, 1, bytes, file) == bytes }
        }
        let header: [Int64] = [
            magic, version, Int64(storage.dimension), Int64(graph.parameters.m), Int64(count),
            graph.entryPoint.map { Int64($0) } ?? -1, Int64(graph.maxLevel), generation, incarnation,
        ]
        header.withUnsafeBytes { put($0.baseAddress!, $0.count) }
        put(storage.labels, count * 8)
        put(storage.levels, count)
        put(storage.deleted, count)
        put(storage.vectors, count * storage.vectorStride * 4)
        put(storage.level0, count * storage.level0Stride * 4)
        for slot in 0..<count where storage.levels[slot] > 0 {
            put(storage.upper[slot]!, Int(storage.levels[slot]) * storage.upperStride * 4)
        }
        ok = ok && fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        guard ok, rename(temporary, url) == 0 else {
            unlink(temporary)
            throw .corruptStore("cannot write the index snapshot \(url): errno \(errno)")
        }
    }

    /// The graph in the snapshot at `url` if it is there and its header is `expected`; nil otherwise.
    ///
    /// - Throws: ``VectorIndexError/corruptStore(_:)`` if a snapshot with the expected header is truncated or
    ///   holds links that leave the graph.
    static func read(_ url: String, expected: Header, parameters: HNSWParameters) throws(VectorIndexError)
        -> HNSWGraph?
    {
        guard let file = fopen(url, "rb") else { return nil }
        defer { fclose(file) }
        var words = [Int64](repeating: 0, count: 2 + Header.fields)
        let read = words.withUnsafeMutableBytes { fread($0.baseAddress!, 1, $0.count, file) }
        guard read == words.count * 8, words[0] == magic, words[1] == version else { return nil }
        let header = Header(
            dimension: words[2], m: words[3], slotCount: words[4], entryPoint: words[5], maxLevel: words[6],
            generation: words[7], incarnation: words[8])
        guard header == expected else { return nil }
        let count = Int(header.slotCount)
        let graph = HNSWGraph(dimension: Int(header.dimension), parameters: parameters, capacity: max(count, 16))
        let storage = graph.storage
        var complete = true
        func take(_ pointer: UnsafeMutableRawPointer, _ bytes: Int) {
            if complete, bytes > 0 { complete = fread(pointer, 1, bytes, file) == bytes }
        }
        take(storage.labels, count * 8)
        take(storage.levels, count)
        take(storage.deleted, count)
        take(storage.vectors, count * storage.vectorStride * 4)
        take(storage.level0, count * storage.level0Stride * 4)
        guard complete else { throw .corruptStore("the index snapshot \(url) is truncated") }
        storage.slotCount = count
        let flags = UnsafeRawPointer(storage.deleted)
        for slot in 0..<count {
            let level = Int(storage.levels[slot])
            guard level <= LevelGenerator.maxLevel, flags.load(fromByteOffset: slot, as: UInt8.self) <= 1 else {
                throw .corruptStore("the index snapshot \(url) has slot \(slot) at level \(level)")
            }
            guard level > 0 else { continue }
            let block = UnsafeMutablePointer<UInt32>.allocate(capacity: level * storage.upperStride)
            storage.upper[slot] = block
            take(block, level * storage.upperStride * 4)
        }
        guard complete, fgetc(file) == EOF else {
            throw .corruptStore("the index snapshot \(url) is truncated or too long")
        }
        graph.restoreLabels()
        graph.restoreEntry(header.entryPoint < 0 ? nil : UInt32(header.entryPoint), maxLevel: Int(header.maxLevel))
        return graph
    }
}
