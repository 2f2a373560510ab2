/// Marks the slots a search has visited, reset in O(1) per query.
///
/// As in hnswlib, each slot holds the epoch of the last query that visited it; a new query bumps the epoch
/// instead of clearing the array, and only every 65,535th query pays for a full clear.
struct VisitedSet {
    private var tags: UnsafeMutablePointer<UInt16>
    private(set) var capacity: Int
    private var epoch: UInt16 = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        tags = .allocate(capacity: self.capacity)
        tags.initialize(repeating: 0, count: self.capacity)
    }

    func deallocate() { tags.deallocate() }

    /// Starts a new query over `slotCount` slots, growing the tags if the graph has grown.
    mutating func reset(slotCount: Int) {
        if slotCount > capacity {
            tags.deallocate()
            capacity = max(slotCount, capacity * 2)
            tags = .allocate(capacity: capacity)
            tags.initialize(repeating: 0, count: capacity)
            epoch = 0
        }
        epoch &+= 1
        if epoch == 0 {
            tags.update(repeating: 0, count: capacity)
            epoch = 1
        }
    }

    /// Marks `slot` visited; returns whether it was new to this query.
    @inline(__always)
    mutating func insert(_ slot: UInt32) -> Bool {
        let pointer = tags + Int(slot)
        if pointer.pointee == epoch { return false }
        pointer.pointee = epoch
        return true
    }
}
