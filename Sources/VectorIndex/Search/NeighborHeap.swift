/// Which end of a ``NeighborHeap`` is its top.
protocol HeapOrder {
    /// Whether `a` belongs nearer the top than `b`.
    static func precedes(_ a: Float, _ b: Float) -> Bool
}

/// The nearest neighbour on top: the candidate queue of a best-first search.
enum NearestFirst: HeapOrder {
    @inline(__always) static func precedes(_ a: Float, _ b: Float) -> Bool { a < b }
}

/// The farthest neighbour on top: the bounded result set, whose top is the one to evict.
enum FarthestFirst: HeapOrder {
    @inline(__always) static func precedes(_ a: Float, _ b: Float) -> Bool { a > b }
}

/// A binary heap of ``Neighbor`` values in flat, reusable storage.
///
/// Search contexts keep their heaps between queries, so a search allocates only when a heap outgrows every
/// earlier one. Growth doubles the storage (an allocation and a copy).
struct NeighborHeap<Order: HeapOrder> {
    private var storage: UnsafeMutablePointer<Neighbor>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    /// Frees the storage; the heap must not be used afterwards.
    func deallocate() { storage.deallocate() }

    var isEmpty: Bool { count == 0 }

    /// The top element. The heap must not be empty.
    var top: Neighbor {
        @inline(__always) get { storage[0] }
    }

    @inline(__always)
    mutating func removeAll() { count = 0 }

    mutating func push(_ element: Neighbor) {
        if count == capacity { grow() }
        var index = count
        count &+= 1
        while index > 0 {
            let parent = (index &- 1) >> 1
            guard Order.precedes(element.distance, storage[parent].distance) else { break }
            storage[index] = storage[parent]
            index = parent
        }
        storage[index] = element
    }

    @discardableResult
    mutating func pop() -> Neighbor {
        let result = storage[0]
        count &-= 1
        if count > 0 { siftDown(storage[count]) }
        return result
    }

    /// Replaces the top with `element` and restores the order: one sift instead of a pop and a push.
    @inline(__always)
    mutating func replaceTop(with element: Neighbor) {
        siftDown(element)
    }

    /// The elements in storage order (not sorted).
    var unordered: UnsafeBufferPointer<Neighbor> { UnsafeBufferPointer(start: storage, count: count) }

    /// Empties the heap into an array sorted nearest first.
    mutating func drainNearestFirst() -> [Neighbor] {
        var result = Array(unordered)
        result.sort { $0.distance < $1.distance }
        count = 0
        return result
    }

    private mutating func siftDown(_ element: Neighbor) {
        var index = 0
        let half = count >> 1
        while index < half {
            var child = 2 &* index &+ 1
            let right = child &+ 1
            if right < count && Order.precedes(storage[right].distance, storage[child].distance) { child = right }
            guard Order.precedes(storage[child].distance, element.distance) else { break }
            storage[index] = storage[child]
            index = child
        }
        storage[index] = element
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<Neighbor>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = larger
        capacity *= 2
    }
}
