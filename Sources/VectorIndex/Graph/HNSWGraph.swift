import CVectorKernels

/// The slots an operation changed, so a store can persist exactly those rows.
struct GraphChanges {
    /// Slots whose vector, label or level changed (new, reused, updated or removed): the whole row.
    var nodes: Set<UInt32> = []
    /// Slots whose links alone changed.
    var links: Set<UInt32> = []
}

/// A hierarchical navigable small world graph over L2-normalised vectors (Malkov & Yashunin, 2016), with
/// inner-product similarity. The algorithms follow hnswlib's `hnswalg.h` so that recall at equal `ef` is
/// the same; removal marks a tombstone that keeps routing and whose slot the next insert reuses, repairing
/// the neighbourhood as hnswlib's `updatePoint` does.
///
/// Not thread-safe: ``HNSWIndex`` serialises writers and lets readers share it under a lock.
final class HNSWGraph {
    let parameters: HNSWParameters
    let storage: GraphStorage
    private(set) var entryPoint: UInt32?
    private(set) var maxLevel = 0
    private(set) var slotsByLabel: [Int64: UInt32] = [:]
    private(set) var freeSlots: [UInt32] = []
    private var levelGenerator: LevelGenerator
    /// The scratch memory of inserts; writers are serialised, so one suffices.
    let writerContext: SearchContext
    /// Collects the changed slots while a store is listening; `nil` during a bulk build.
    var changes: GraphChanges?

    var dimension: Int { storage.dimension }
    var liveCount: Int { slotsByLabel.count }

    init(dimension: Int, parameters: HNSWParameters, capacity: Int = 1024) {
        self.parameters = parameters
        storage = GraphStorage(dimension: dimension, m: parameters.m, capacity: capacity)
        levelGenerator = LevelGenerator(m: parameters.m, seed: parameters.seed)
        writerContext = SearchContext(
            slotCapacity: capacity, maxLinks: parameters.maxLinksLevel0, dimension: dimension)
    }

    // MARK: - Distances

    /// `1 - cosine`: hnswlib's inner-product distance, smaller is nearer.
    @inline(__always)
    func distance(_ query: UnsafePointer<Float>, _ slot: UInt32) -> Float {
        1 - rs_dot(query, storage.vector(slot), storage.dimension)
    }

    @inline(__always)
    func distance(_ a: UInt32, _ b: UInt32) -> Float {
        1 - rs_dot(storage.vector(a), storage.vector(b), storage.dimension)
    }

    // MARK: - Mutation

    /// Inserts `vector` under `label`, or replaces the vector of a label already present.
    ///
    /// - Parameter vector: `dimension` floats, already validated and L2-normalised.
    func insert(label: Int64, normalizedVector vector: UnsafePointer<Float>) {
        if let slot = slotsByLabel[label] {
            storage.vector(slot).update(from: vector, count: dimension)
            repairAfterVectorChange(slot)
        } else if let slot = freeSlots.popLast() {
            storage.deleted[Int(slot)] = false
            storage.labels[Int(slot)] = label
            slotsByLabel[label] = slot
            storage.vector(slot).update(from: vector, count: dimension)
            repairAfterVectorChange(slot)
        } else {
            let level = levelGenerator.next()
            let slot = storage.appendSlot(level: level)
            storage.labels[Int(slot)] = label
            slotsByLabel[label] = slot
            storage.vector(slot).update(from: vector, count: dimension)
            connectNewSlot(slot, level: level)
        }
        changes?.nodes.insert(slotsByLabel[label]!)
    }

    /// Removes `label`: its slot becomes a tombstone that still routes searches and that the next insert
    /// reuses. Returns whether the label was present.
    func remove(label: Int64) -> Bool {
        guard let slot = slotsByLabel.removeValue(forKey: label) else { return false }
        storage.deleted[Int(slot)] = true
        freeSlots.append(slot)
        changes?.nodes.insert(slot)
        return true
    }

    func slot(of label: Int64) -> UInt32? { slotsByLabel[label] }

    // MARK: - Restoring

    /// Appends a slot read from a store with its label (nil for a tombstone) and level; the store fills its
    /// vector and links.
    func restoreSlot(label: Int64?, level: Int) -> UInt32 {
        let slot = storage.appendSlot(level: level)
        if let label {
            storage.labels[Int(slot)] = label
            slotsByLabel[label] = slot
        } else {
            storage.labels[Int(slot)] = 0
            storage.deleted[Int(slot)] = true
            freeSlots.append(slot)
        }
        return slot
    }

    /// Rebuilds the label map and the free slots from storage filled in bulk (a snapshot's arrays).
    func restoreLabels() {
        slotsByLabel.reserveCapacity(storage.slotCount)
        for slot in 0..<UInt32(storage.slotCount) {
            if storage.deleted[Int(slot)] {
                storage.labels[Int(slot)] = 0
                freeSlots.append(slot)
            } else {
                slotsByLabel[storage.labels[Int(slot)]] = slot
            }
        }
    }

    /// Sets the entry point and top level read from a store, and moves the level generator on so that a
    /// reopened index does not draw the same levels again.
    func restoreEntry(_ entry: UInt32?, maxLevel: Int) {
        entryPoint = entry
        self.maxLevel = maxLevel
        levelGenerator = LevelGenerator(m: parameters.m, seed: parameters.seed ^ UInt64(storage.slotCount))
    }

    // MARK: - Construction

    private func connectNewSlot(_ slot: UInt32, level: Int) {
        guard let entry = entryPoint else {
            entryPoint = slot
            maxLevel = level
            return
        }
        let query = UnsafePointer(storage.vector(slot))
        var current = Neighbor(distance: distance(query, entry), slot: entry)
        if level < maxLevel {
            current = greedyDescent(query: query, from: current, topLevel: maxLevel, stopAbove: level)
        }
        for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
            let found = constructionCandidates(query: query, entry: current, level: layer, excluding: slot)
            current = connect(slot, to: found, level: layer, isUpdate: false) ?? current
        }
        if level > maxLevel {
            entryPoint = slot
            maxLevel = level
        }
    }

    /// The `efConstruction` nearest live slots to `query` at `level`, nearest first. A tombstoned entry is
    /// kept as a candidate, as hnswlib does, so a node inserted into a deleted region still gets links.
    func constructionCandidates(
        query: UnsafePointer<Float>, entry: Neighbor, level: Int, excluding slot: UInt32
    ) -> [Neighbor] {
        let context = writerContext
        searchLayer(
            query: query, entry: entry, level: level, ef: parameters.efConstruction,
            admission: LiveSlots(), context: context)
        var found = context.results.drainNearestFirst()
        found.removeAll { $0.slot == slot }
        if storage.deleted[Int(entry.slot)] && entry.slot != slot {
            let position = found.firstIndex { $0.distance > entry.distance } ?? found.count
            found.insert(entry, at: position)
            if found.count > parameters.efConstruction { found.removeLast() }
        }
        return found
    }
}
