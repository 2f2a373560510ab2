import Synchronization

/// Which scope each indexed entry belongs to, in memory, so a semantic search can filter by scope without
/// touching the database: the filter is called for every node the graph walk visits.
final class ScopeDirectory: Sendable {
    private struct Table {
        var scopeOfEntry: [Int64: Int32] = [:]
        var scopeIDs: [String: Int32] = [:]
        var counts: [Int32: Int] = [:]

        mutating func add(entry: Int64, scope: String) {
            let id =
                scopeIDs[scope]
                ?? {
                    let id = Int32(scopeIDs.count)
                    scopeIDs[scope] = id
                    return id
                }()
            if let old = scopeOfEntry.updateValue(id, forKey: entry) { counts[old, default: 1] -= 1 }
            counts[id, default: 0] += 1
        }
    }

    private let table = Mutex(Table())

    func add(entry: Int64, scope: String) {
        table.withLock { $0.add(entry: entry, scope: scope) }
    }

    /// Replaces the whole directory with `entries` (an opening's million entries at once).
    func replaceAll(with entries: [(entry: Int64, scope: String)]) {
        var loaded = Table()
        loaded.scopeOfEntry.reserveCapacity(entries.count)
        for (entry, scope) in entries { loaded.add(entry: entry, scope: scope) }
        table.withLock { $0 = loaded }
    }

    func remove(entry: Int64) {
        table.withLock { table in
            if let old = table.scopeOfEntry.removeValue(forKey: entry) { table.counts[old, default: 1] -= 1 }
        }
    }

    func removeAll() {
        table.withLock { $0 = Table() }
    }

    /// A search filter admitting the entries of `scope`, with their count as the hint for choosing between
    /// a graph walk and an exact scan; nil if the scope has no indexed entry.
    func filter(for scope: String) -> (filter: @Sendable (Int64) -> Bool, count: Int)? {
        guard
            let (id, count) = table.withLock({ table -> (Int32, Int)? in
                guard let id = table.scopeIDs[scope], let count = table.counts[id], count > 0 else { return nil }
                return (id, count)
            })
        else { return nil }
        return ({ [self] entry in table.withLock { $0.scopeOfEntry[entry] == id } }, count)
    }
}
