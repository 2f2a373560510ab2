import CVectorKernels

extension HNSWGraph {
    /// hnswlib's `searchBaseLayer`: best-first search of one level from `entry`, leaving the `ef` nearest
    /// admitted slots in `context.results` (farthest on top).
    ///
    /// The unvisited neighbours of each expanded node are gathered first, with the first cache line of each
    /// vector prefetched, then scored four at a time (``rs_dot4``): the query is read once per four rows and
    /// four independent accumulator chains hide the latency of rows still arriving from memory. The link
    /// list of the next candidate is prefetched as soon as it is known. Prefetching whole vectors instead
    /// of their first line measured 15-20% fewer queries/s at 100,000 x 384 (`routershift-bench index`).
    func searchLayer<Admission: SlotAdmission>(
        query: UnsafePointer<Float>, entry: Neighbor, level: Int, ef: Int,
        admission: Admission, context: SearchContext
    ) {
        let storage = storage
        let dimension = storage.dimension
        context.visited.reset(slotCount: storage.slotCount)
        context.candidates.removeAll()
        context.results.removeAll()
        _ = context.visited.insert(entry.slot)
        context.candidates.push(entry)
        var bound = Float.greatestFiniteMagnitude
        if admission.admits(entry.slot, in: storage) {
            context.results.push(entry)
            bound = entry.distance
        }
        let batch = context.batch
        let distances = context.batchDistances

        while !context.candidates.isEmpty {
            let current = context.candidates.top
            if current.distance > bound && context.results.count >= ef { break }
            context.candidates.pop()
            if !context.candidates.isEmpty {
                rs_prefetch(storage.links(context.candidates.top.slot, level: level))
            }

            let links = storage.links(current.slot, level: level)
            let linkCount = Int(links[0])
            var pending = 0
            var index = 1
            while index <= linkCount {
                let neighbor = links[index]
                if context.visited.insert(neighbor) {
                    batch[pending] = neighbor
                    pending &+= 1
                    rs_prefetch(storage.vector(neighbor))
                }
                index &+= 1
            }
            var scored = 0
            while scored &+ 4 <= pending {
                rs_dot4(
                    query, storage.vector(batch[scored]), storage.vector(batch[scored &+ 1]),
                    storage.vector(batch[scored &+ 2]), storage.vector(batch[scored &+ 3]), dimension,
                    distances + scored)
                scored &+= 4
            }
            while scored < pending {
                distances[scored] = rs_dot(query, storage.vector(batch[scored]), dimension)
                scored &+= 1
            }

            for index in 0..<pending {
                let candidate = Neighbor(distance: 1 - distances[index], slot: batch[index])
                guard context.results.count < ef || candidate.distance < bound else { continue }
                context.candidates.push(candidate)
                guard admission.admits(candidate.slot, in: storage) else { continue }
                if context.results.count < ef {
                    context.results.push(candidate)
                } else {
                    context.results.replaceTop(with: candidate)
                }
                bound = context.results.top.distance
            }
        }
    }

    /// Greedy search with a beam of one through the levels above `stopAbove`, as every HNSW query and
    /// insert begins: returns the nearest node found on level `stopAbove + 1`.
    func greedyDescent(query: UnsafePointer<Float>, from start: Neighbor, topLevel: Int, stopAbove: Int)
        -> Neighbor
    {
        var current = start
        for level in stride(from: topLevel, to: stopAbove, by: -1) {
            var improved = true
            while improved {
                improved = false
                let links = storage.links(current.slot, level: level)
                for index in 0..<Int(links[0]) {
                    let neighbor = links[index + 1]
                    let candidate = distance(query, neighbor)
                    if candidate < current.distance {
                        current = Neighbor(distance: candidate, slot: neighbor)
                        improved = true
                    }
                }
            }
        }
        return current
    }

    /// The `k` nearest admitted slots to a normalised `query`, nearest first.
    func search<Admission: SlotAdmission>(
        query: UnsafePointer<Float>, k: Int, ef: Int, admission: Admission, context: SearchContext
    ) -> [Neighbor] {
        guard let entry = entryPoint, k > 0 else { return [] }
        var current = Neighbor(distance: distance(query, entry), slot: entry)
        current = greedyDescent(query: query, from: current, topLevel: maxLevel, stopAbove: 0)
        searchLayer(
            query: query, entry: current, level: 0, ef: max(ef, k), admission: admission, context: context)
        let found = context.results.drainNearestFirst()
        return Array(found.prefix(k))
    }
}
