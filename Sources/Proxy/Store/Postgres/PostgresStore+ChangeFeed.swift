import PostgresNIO

/// The change feed in PostgreSQL: `change_log`, with `seq` from the one `change_counter` row (so changes commit
/// in `seq` order) and a `pg_notify('routershift_changes', seq)` at each commit for listeners.
extension PostgresStore: ChangeFeed {
    public func changes(after seq: Int64, limit: Int) async throws -> ChangePage {
        try await client.withConnection { connection in
            try await Self.changes(connection, after: seq, limit: limit, logger: self.logger)
        }
    }

    public func pruneChanges(before time: Double) async throws -> Int {
        var pruned = 0
        for try await count in try await client.query(
            """
            WITH pruned AS (
                DELETE FROM change_log WHERE at < \(time) AND seq < (SELECT seq FROM change_counter WHERE id = 1)
                RETURNING 1)
            SELECT count(*) FROM pruned
            """, logger: logger
        ).decode(Int.self) {
            pruned = count
        }
        return pruned
    }

    static func changes(_ connection: PostgresConnection, after seq: Int64, limit: Int, logger: Logger) async throws
        -> ChangePage
    {
        var changes: [StoreChange] = []
        var through = seq
        for try await (rowSeq, kind, subject) in try await connection.query(
            "SELECT seq, kind, subject FROM change_log WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)", logger: logger
        ).decode((Int64, String, String).self) {
            through = rowSeq
            // A kind this version does not know (written by a newer one) is skipped, not misread.
            if let kind = StoreChange.Kind(rawValue: kind) {
                changes.append(StoreChange(seq: rowSeq, kind: kind, subject: subject))
            }
        }
        var oldest: Int64?
        for try await value in try await connection.query("SELECT min(seq) FROM change_log", logger: logger)
            .decode(Int64?.self)
        {
            oldest = value
        }
        return ChangePage(changes: changes, through: through, oldestRetained: oldest)
    }

    /// The newest committed change, as `connection`'s snapshot sees it.
    static func latestChange(_ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        var latest: Int64 = 0
        for try await seq in try await connection.query(
            "SELECT seq FROM change_counter WHERE id = 1", logger: logger
        ).decode(Int64.self) {
            latest = seq
        }
        return latest
    }

    /// Runs `body` in a read-only transaction that sees one snapshot throughout (REPEATABLE READ): the keys
    /// and the feed position read in it agree.
    func inSnapshot<Result: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> Result) async throws
        -> Result
    {
        try await transaction { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            return try await body(connection)
        }
    }
}
