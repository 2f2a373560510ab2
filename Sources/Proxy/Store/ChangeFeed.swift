import Foundation
import GRDB

/// One row of the change feed: something in the store changed that processes keep a copy of in memory.
public struct StoreChange: Sendable, Equatable {
    /// Where the change is in the feed; changes commit in this order.
    public var seq: Int64
    /// What changed: ``Kind/key`` for now (a virtual key created, changed, revoked or deleted).
    public var kind: Kind
    /// The id of what changed (a key's id).
    public var subject: String

    public enum Kind: String, Sendable {
        case key
    }
}

/// One read of the change feed.
public struct ChangePage: Sendable, Equatable {
    /// The changes read, oldest first (kinds this version does not know, written by a newer one, left out).
    public var changes: [StoreChange]
    /// The `seq` of the last row read, whatever its kind; the `after` of the read when it found none.
    public var through: Int64
    /// The oldest `seq` still retained, nil for an empty feed: when it is more than the reader's last `seq`
    /// plus one, changes were pruned that the reader never saw.
    public var oldestRetained: Int64?
}

/// The changes of the store, in commit order, for every process that keeps a copy of what changed: a gateway's
/// ``KeyDirectory`` sees a key created, changed or revoked by `routershift keys` in another process.
///
/// With SQLite the feed is the `change_log` table, written by triggers in the same transaction as the change,
/// so no write can skip it (an older binary's included). SQLite serialises writers, so `seq` commits in order:
/// a reader that has applied `seq` never later sees a smaller one appear.
public protocol ChangeFeed: Sendable {
    /// Up to `limit` changes after `seq`, oldest first.
    func changes(after seq: Int64, limit: Int) async throws -> ChangePage
    /// Removes changes made before `time` (seconds since 1970), keeping the newest one.
    func pruneChanges(before time: Double) async throws -> Int
}

extension GatewayStore: ChangeFeed {
    public func changes(after seq: Int64, limit: Int) async throws -> ChangePage {
        try await StoreThreads.run { try self.database.read { db in try Self.changes(db, after: seq, limit: limit) } }
    }

    /// ``changes(after:limit:)`` in `db`'s transaction, for a reader that reads what changed in the same snapshot.
    static func changes(_ db: Database, after seq: Int64, limit: Int) throws -> ChangePage {
        let rows = try Row.fetchAll(
            db, sql: "SELECT seq, kind, subject FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?",
            arguments: [seq, limit])
        let changes = rows.compactMap { row -> StoreChange? in
            // A kind this version does not know (written by a newer one) is skipped, not misread.
            guard let kind = StoreChange.Kind(rawValue: row["kind"]) else { return nil }
            return StoreChange(seq: row["seq"], kind: kind, subject: row["subject"])
        }
        let oldest = try Int64.fetchOne(db, sql: "SELECT min(seq) FROM change_log")
        return ChangePage(changes: changes, through: rows.last?["seq"] ?? seq, oldestRetained: oldest)
    }

    /// The newest `seq` of the feed, 0 when nothing has changed yet.
    static func latestChange(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'change_log'") ?? 0
    }

    public func pruneChanges(before time: Double) async throws -> Int {
        try await StoreThreads.run {
            try self.database.write { db in
                try db.execute(
                    sql: "DELETE FROM change_log WHERE at < ? AND seq < (SELECT max(seq) FROM change_log)",
                    arguments: [time])
                return db.changesCount
            }
        }
    }

    /// The feed's table, and the triggers that write a `key` change with every insert, update or delete of a
    /// virtual key. `seq` is AUTOINCREMENT so that a pruned `seq` is never given out again.
    static func registerChangeFeedMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v15-change-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE change_log (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        kind TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        at REAL NOT NULL);
                    CREATE INDEX change_log_at ON change_log(at);
                    """)
            let now = "(julianday('now') - 2440587.5) * 86400.0"
            for (event, row) in [("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")] {
                try db.execute(
                    sql: """
                        CREATE TRIGGER virtual_key_change_\(event.lowercased()) AFTER \(event) ON virtual_key
                        BEGIN
                            INSERT INTO change_log (kind, subject, at) VALUES ('key', \(row).id, \(now));
                        END
                        """)
            }
        }
    }
}
