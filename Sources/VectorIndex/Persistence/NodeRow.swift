import Foundation

/// One slot of the graph as the store writes it: the whole row, or only its links.
///
/// Vectors are little-endian Float32 blobs, `dimension * 4` bytes. Links are little-endian UInt32 words,
/// for each level from 0 up: the count, then that many slots.
struct NodeRow {
    let slot: UInt32
    /// nil for a tombstone.
    let label: Int64?
    let level: Int
    /// nil when only the links changed.
    let vector: Data?
    let links: Data

    /// Copies the row of `slot` out of `graph`; the caller holds the graph's lock.
    init(slot: UInt32, of graph: HNSWGraph, includingVector: Bool) {
        let storage = graph.storage
        self.slot = slot
        label = storage.deleted[Int(slot)] ? nil : storage.labels[Int(slot)]
        level = Int(storage.levels[Int(slot)])
        vector =
            includingVector
            ? Data(bytes: storage.vector(slot), count: storage.dimension * MemoryLayout<Float>.size) : nil
        var words: [UInt32] = []
        for level in 0...level {
            let list = storage.links(slot, level: level)
            words.append(contentsOf: UnsafeBufferPointer(start: list, count: Int(list[0]) + 1))
        }
        links = words.withUnsafeBytes { Data($0) }
    }

    /// Fills the vector and links of a restored `slot` from its stored blobs.
    ///
    /// - Throws: ``VectorIndexError/corruptStore(_:)`` when a blob has the wrong size or a link list is longer
    ///   than the graph allows.
    static func restore(slot: UInt32, vector: Data, links: Data, into graph: HNSWGraph) throws(VectorIndexError) {
        let storage = graph.storage
        let level = Int(storage.levels[Int(slot)])
        guard vector.count == storage.dimension * MemoryLayout<Float>.size else {
            throw .corruptStore("slot \(slot) has a vector of \(vector.count) bytes")
        }
        vector.withUnsafeBytes { bytes in
            UnsafeMutableRawBufferPointer(start: storage.vector(slot), count: bytes.count).copyMemory(from: bytes)
        }
        guard links.count % 4 == 0 else { throw .corruptStore("slot \(slot) has a links blob of \(links.count) bytes") }
        let failure: String? = links.withUnsafeBytes { bytes in
            let words = bytes.count / 4
            var offset = 0
            for level in 0...level {
                guard offset < words else { return "slot \(slot) lacks links for level \(level)" }
                let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset * 4, as: UInt32.self)))
                guard count <= storage.maxLinks(level: level), offset + 1 + count <= words else {
                    return "slot \(slot) has \(count) links at level \(level)"
                }
                let target = storage.links(slot, level: level)
                for index in 0...count {
                    target[index] = UInt32(
                        littleEndian: bytes.loadUnaligned(fromByteOffset: (offset + index) * 4, as: UInt32.self))
                }
                offset += count + 1
            }
            return offset == words ? nil : "slot \(slot) has links beyond its level \(level)"
        }
        if let failure { throw .corruptStore(failure) }
    }
}
