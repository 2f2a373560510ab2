import GRDB

/// Every key, or the keys changed since a point of the ``ChangeFeed``, each read in one snapshot: what a
/// ``KeyDirectory`` loads and refreshes itself from.
public protocol KeyFeed: Sendable {
    /// Every key, revoked ones included, and the newest change they include.
    func allKeys() async throws -> (through: Int64, keys: [VirtualKey])
    /// The keys changed after `seq`, each as it is now (nil for a key deleted), and the newest change read;
    /// nil when changes after `seq` were pruned from the feed before they were read, or the feed is behind
    /// `seq` (another database): read ``allKeys()`` then.
    func keysChanged(after seq: Int64) async throws -> (through: Int64, keys: [String: VirtualKey?])?
}

extension GatewayStore: KeyFeed {
    /// How many changes one read of the feed takes.
    static let changePageSize = 1000

    public func allKeys() async throws -> (through: Int64, keys: [VirtualKey]) {
        try await StoreThreads.run {
            try self.database.read { db in (try Self.latestChange(db), try VirtualKey.fetchAll(db)) }
        }
    }

    public func keysChanged(after seq: Int64) async throws -> (through: Int64, keys: [String: VirtualKey?])? {
        try await StoreThreads.run { try self.database.read { db in try Self.keysChanged(db, after: seq) } }
    }

    private static func keysChanged(_ db: Database, after seq: Int64) throws -> (
        through: Int64, keys: [String: VirtualKey?]
    )? {
        // A feed behind the reader is another database (restored, or made anew): read everything again.
        guard try latestChange(db) >= seq else { return nil }
        var through = seq
        var changed = Set<String>()
        while true {
            let page = try changes(db, after: through, limit: changePageSize)
            if let oldest = page.oldestRetained, oldest > seq + 1 { return nil }
            for change in page.changes where change.kind == .key { changed.insert(change.subject) }
            guard page.through > through else { break }
            through = page.through
        }
        var keys: [String: VirtualKey?] = [:]
        for id in changed { keys[id] = try VirtualKey.fetchOne(db, key: id) }
        return (through, keys)
    }
}
