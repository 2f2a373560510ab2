#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The flat memory of an HNSW graph, one structure of arrays indexed by slot.
///
/// - `vectors`: one row of `vectorStride` floats per slot, 64-byte aligned, so a 384-d vector spans exactly
///   24 cache lines and the whole block is a strided matrix BLAS can scan.
///   It and `level0` are most of the memory. Large ones sit on transparent huge pages where Linux offers
///   them (see ``allocateLarge(_:count:)``).
/// - `level0`: `1 + 2M` words per slot, the link count then the links of level 0.
/// - `upper`: for the few slots above level 0, one block of `level * (1 + M)` words.
/// - `labels`, `levels`, `deleted`: the external id, top level and tombstone flag of each slot.
///
/// This is the only copy of the vectors in memory. Growth doubles every array (an allocation and a copy);
/// callers hold the index's write lock while it happens.
final class GraphStorage {
    let dimension: Int
    let vectorStride: Int
    let level0Stride: Int
    let upperStride: Int
    private(set) var capacity: Int
    /// Slots in use, tombstones included; slots are dense in `0..<slotCount`.
    var slotCount = 0

    private(set) var vectors: UnsafeMutablePointer<Float>
    private(set) var level0: UnsafeMutablePointer<UInt32>
    private(set) var labels: UnsafeMutablePointer<Int64>
    private(set) var levels: UnsafeMutablePointer<UInt8>
    private(set) var deleted: UnsafeMutablePointer<Bool>
    private(set) var upper: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>

    init(dimension: Int, m: Int, capacity: Int) {
        self.dimension = dimension
        vectorStride = (dimension + 15) & ~15
        level0Stride = 1 + 2 * m
        upperStride = 1 + m
        self.capacity = max(capacity, 16)
        vectors = Self.allocateLarge(Float.self, count: self.capacity * vectorStride)
        level0 = Self.allocateLarge(UInt32.self, count: self.capacity * level0Stride)
        labels = .allocate(capacity: self.capacity)
        levels = .allocate(capacity: self.capacity)
        deleted = .allocate(capacity: self.capacity)
        upper = .allocate(capacity: self.capacity)
        upper.initialize(repeating: nil, count: self.capacity)
    }

    deinit {
        for slot in 0..<slotCount { upper[slot]?.deallocate() }
        free(vectors)
        free(level0)
        labels.deallocate()
        levels.deallocate()
        deleted.deallocate()
        upper.deallocate()
    }

    // MARK: - Access

    @inline(__always)
    func vector(_ slot: UInt32) -> UnsafeMutablePointer<Float> {
        vectors + Int(slot) &* vectorStride
    }

    /// The link list of `slot` at `level`: element 0 is the count, the links follow.
    @inline(__always)
    func links(_ slot: UInt32, level: Int) -> UnsafeMutablePointer<UInt32> {
        if level == 0 { return level0 + Int(slot) &* level0Stride }
        return upper[Int(slot)].unsafelyUnwrapped + (level &- 1) &* upperStride
    }

    @inline(__always)
    func maxLinks(level: Int) -> Int {
        level == 0 ? level0Stride - 1 : upperStride - 1
    }

    // MARK: - Slots

    /// Appends a slot at `level` with no links; its vector and label are the caller's to fill.
    func appendSlot(level: Int) -> UInt32 {
        if slotCount == capacity { grow(to: capacity * 2) }
        let slot = UInt32(slotCount)
        slotCount += 1
        resetLinks(slot, level: level)
        deleted[Int(slot)] = false
        return slot
    }

    /// Gives `slot` the levels `0...level` with empty link lists.
    func resetLinks(_ slot: UInt32, level: Int) {
        let index = Int(slot)
        levels[index] = UInt8(level)
        level0[index * level0Stride] = 0
        upper[index]?.deallocate()
        upper[index] = nil
        if level > 0 {
            let block = UnsafeMutablePointer<UInt32>.allocate(capacity: level * upperStride)
            block.initialize(repeating: 0, count: level * upperStride)
            upper[index] = block
        }
    }

    func reserve(_ minimumCapacity: Int) {
        if minimumCapacity > capacity { grow(to: max(minimumCapacity, capacity * 2)) }
    }

    /// Bytes held for the slots in use: vectors, links, labels and flags.
    var bytesInUse: Int {
        var bytes = slotCount * (vectorStride * 4 + level0Stride * 4 + 8 + 1 + 1 + 8)
        for slot in 0..<slotCount { bytes += Int(levels[slot]) * upperStride * 4 }
        return bytes
    }

    private func grow(to newCapacity: Int) {
        let newVectors = Self.allocateLarge(Float.self, count: newCapacity * vectorStride)
        newVectors.update(from: vectors, count: slotCount * vectorStride)
        free(vectors)
        vectors = newVectors
        let newLevel0 = Self.allocateLarge(UInt32.self, count: newCapacity * level0Stride)
        newLevel0.update(from: level0, count: slotCount * level0Stride)
        free(level0)
        level0 = newLevel0
        labels = Self.reallocate(labels, from: capacity, to: newCapacity)
        levels = Self.reallocate(levels, from: capacity, to: newCapacity)
        deleted = Self.reallocate(deleted, from: capacity, to: newCapacity)
        let newUpper = UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>.allocate(capacity: newCapacity)
        newUpper.moveInitialize(from: upper, count: capacity)
        (newUpper + capacity).initialize(repeating: nil, count: newCapacity - capacity)
        upper.deallocate()
        upper = newUpper
        capacity = newCapacity
    }

    private static func reallocate<T>(_ old: UnsafeMutablePointer<T>, from: Int, to: Int) -> UnsafeMutablePointer<T> {
        let new = UnsafeMutablePointer<T>.allocate(capacity: to)
        new.moveInitialize(from: old, count: from)
        old.deallocate()
        return new
    }

    /// Uninitialised memory for `count` values, released with `free`: 64-byte aligned; from 4 MiB on,
    /// 2 MiB aligned and marked for transparent huge pages (Linux, `madvise` mode), so filling it (an opening
    /// reads a million entries' graph, 1.7 GB) faults once per 2 MiB rather than once per 4 KiB, and a search's
    /// scattered reads of vectors and links miss the TLB less.
    private static func allocateLarge<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(count, 16) * MemoryLayout<T>.stride
        let hugePage = 2 << 20
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, bytes >= 2 * hugePage ? hugePage : 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes for the index")
        }
        #if os(Linux)
            if bytes >= 2 * hugePage { _ = madvise(raw, bytes & ~(hugePage - 1), MADV_HUGEPAGE) }
        #endif
        return raw.bindMemory(to: T.self, capacity: count)
    }
}
