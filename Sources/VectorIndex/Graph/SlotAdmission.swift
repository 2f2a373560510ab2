/// Which slots a search may return. Rejected slots still route the search through the graph.
///
/// A protocol rather than a closure so that each search loop is specialised for its admission rule and the
/// common unfiltered case costs one byte load per visited slot.
protocol SlotAdmission {
    func admits(_ slot: UInt32, in storage: GraphStorage) -> Bool
}

/// Every live slot: tombstones route but are never returned.
struct LiveSlots: SlotAdmission {
    @inline(__always)
    func admits(_ slot: UInt32, in storage: GraphStorage) -> Bool {
        !storage.deleted[Int(slot)]
    }
}

/// Live slots whose label passes the caller's filter.
struct FilteredSlots: SlotAdmission {
    let isIncluded: (Int64) -> Bool

    @inline(__always)
    func admits(_ slot: UInt32, in storage: GraphStorage) -> Bool {
        !storage.deleted[Int(slot)] && isIncluded(storage.labels[Int(slot)])
    }
}
