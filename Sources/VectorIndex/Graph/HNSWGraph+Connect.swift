import CVectorKernels

extension HNSWGraph {
    /// hnswlib's `getNeighborsByHeuristic2`: walks `candidates` nearest first and keeps one only if it is
    /// nearer to the base than to every neighbour kept so far, so links spread in all directions.
    ///
    /// - Parameter candidates: sorted nearest first, distances measured from the base node.
    func selectNeighbors(_ candidates: [Neighbor], max limit: Int) -> [Neighbor] {
        if candidates.count < limit { return candidates }
        var selected: [Neighbor] = []
        selected.reserveCapacity(limit)
        var dots = (Float(0), Float(0), Float(0), Float(0))
        let dimension = storage.dimension
        for candidate in candidates {
            if selected.count >= limit { break }
            let vector = storage.vector(candidate.slot)
            // Nearer to a kept neighbour than to the base means 1 - dot < distance, i.e. dot > 1 - distance.
            let threshold = 1 - candidate.distance
            var isDiverse = true
            var index = 0
            while isDiverse && index + 4 <= selected.count {
                withUnsafeMutableBytes(of: &dots) { raw in
                    rs_dot4(
                        vector, storage.vector(selected[index].slot), storage.vector(selected[index + 1].slot),
                        storage.vector(selected[index + 2].slot), storage.vector(selected[index + 3].slot),
                        dimension, raw.baseAddress!.assumingMemoryBound(to: Float.self))
                }
                if dots.0 > threshold || dots.1 > threshold || dots.2 > threshold || dots.3 > threshold {
                    isDiverse = false
                }
                index += 4
            }
            while isDiverse && index < selected.count {
                if rs_dot(vector, storage.vector(selected[index].slot), dimension) > threshold { isDiverse = false }
                index += 1
            }
            if isDiverse { selected.append(candidate) }
        }
        return selected
    }

    /// hnswlib's `mutuallyConnectNewElement`: links `slot` to the heuristic's pick among `candidates` and
    /// adds the reverse links, shrinking a full neighbour list with the same heuristic.
    ///
    /// - Returns: the nearest neighbour chosen, where the search of the next level down starts.
    func connect(_ slot: UInt32, to candidates: [Neighbor], level: Int, isUpdate: Bool) -> Neighbor? {
        let selected = selectNeighbors(candidates, max: parameters.m)
        let links = storage.links(slot, level: level)
        links[0] = UInt32(selected.count)
        for (index, neighbor) in selected.enumerated() { links[index + 1] = neighbor.slot }
        changes?.links.insert(slot)

        let maxLinks = storage.maxLinks(level: level)
        for neighbor in selected {
            let theirs = storage.links(neighbor.slot, level: level)
            let count = Int(theirs[0])
            if isUpdate && UnsafeBufferPointer(start: theirs + 1, count: count).contains(slot) { continue }
            if count < maxLinks {
                theirs[count + 1] = slot
                theirs[0] = UInt32(count + 1)
            } else {
                var pool = [Neighbor(distance: neighbor.distance, slot: slot)]
                for index in 1...count {
                    pool.append(Neighbor(distance: distance(neighbor.slot, theirs[index]), slot: theirs[index]))
                }
                pool.sort { $0.distance < $1.distance }
                let kept = selectNeighbors(pool, max: maxLinks)
                theirs[0] = UInt32(kept.count)
                for (index, keptNeighbor) in kept.enumerated() { theirs[index + 1] = keptNeighbor.slot }
            }
            changes?.links.insert(neighbor.slot)
        }
        return selected.first
    }

    /// hnswlib's `updatePoint` and `repairConnectionsForUpdate`, run after `slot` got a new vector (an update,
    /// or a tombstone reused by an insert): the old neighbours re-pick their links among their two-hop
    /// neighbourhood, then `slot` is connected again as if inserted at its level.
    func repairAfterVectorChange(_ slot: UInt32) {
        guard let entry = entryPoint, storage.slotCount > 1 else { return }
        let level = Int(storage.levels[Int(slot)])
        for layer in 0...level {
            relinkNeighborhood(of: slot, level: layer)
        }

        let query = UnsafePointer(storage.vector(slot))
        var current = Neighbor(distance: distance(query, entry), slot: entry)
        if level < maxLevel {
            current = greedyDescent(query: query, from: current, topLevel: maxLevel, stopAbove: level)
        }
        for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
            let found = constructionCandidates(query: query, entry: current, level: layer, excluding: slot)
            if found.isEmpty { continue }
            current = connect(slot, to: found, level: layer, isUpdate: true) ?? current
        }
    }

    /// Gives each neighbour of `slot` at `level` a fresh link list chosen from `slot`, its neighbours and
    /// their neighbours.
    private func relinkNeighborhood(of slot: UInt32, level: Int) {
        let links = storage.links(slot, level: level)
        let oneHop = Array(UnsafeBufferPointer(start: links + 1, count: Int(links[0])))
        if oneHop.isEmpty { return }
        var pool: Set<UInt32> = [slot]
        for neighbor in oneHop {
            pool.insert(neighbor)
            let theirs = storage.links(neighbor, level: level)
            for index in 0..<Int(theirs[0]) { pool.insert(theirs[index + 1]) }
        }
        let maxLinks = storage.maxLinks(level: level)
        for neighbor in oneHop {
            var candidates: [Neighbor] = []
            candidates.reserveCapacity(pool.count)
            for candidate in pool where candidate != neighbor {
                candidates.append(Neighbor(distance: distance(neighbor, candidate), slot: candidate))
            }
            candidates.sort { $0.distance < $1.distance }
            if candidates.count > parameters.efConstruction {
                candidates.removeLast(candidates.count - parameters.efConstruction)
            }
            let kept = selectNeighbors(candidates, max: maxLinks)
            let theirs = storage.links(neighbor, level: level)
            theirs[0] = UInt32(kept.count)
            for (index, keptNeighbor) in kept.enumerated() { theirs[index + 1] = keptNeighbor.slot }
            changes?.links.insert(neighbor)
        }
    }
}
