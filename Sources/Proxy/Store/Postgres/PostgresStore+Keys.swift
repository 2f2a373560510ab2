import PostgresNIO

/// Keys in PostgreSQL: the same operations and the same answers as in SQLite (one test suite runs on both).
/// Every write to `virtual_key` adds a `key` change to the feed by trigger, in the write's transaction.
extension PostgresStore: KeyStore {
    static let keyColumns =
        "id, name, hash, prefix, team, allowed_models, rpm, tpm, max_parallel, budget, budget_period, created_at, revoked_at, cache_audit"

    public func createKey(_ draft: KeyDraft, now: Double) async throws -> (key: VirtualKey, secret: String) {
        let issued = try VirtualKey.issue(draft, now: now)
        let key = issued.key
        try await client.query(
            """
            INSERT INTO virtual_key (\(unescaped: Self.keyColumns)) VALUES (
                \(key.id), \(key.name), \(key.hash), \(key.prefix), \(key.team), \(key.allowedModels), \(key.rpm),
                \(key.tpm), \(key.maxParallel), \(key.budget), \(key.budgetPeriod), \(key.createdAt), \(key.revokedAt),
                \(key.cacheAudit))
            """, logger: logger)
        return issued
    }

    public func keys(includeRevoked: Bool) async throws -> [VirtualKey] {
        try await Self.keys(
            client.query(
                """
                SELECT \(unescaped: Self.keyColumns) FROM virtual_key
                WHERE \(includeRevoked) OR revoked_at IS NULL ORDER BY created_at, id
                """, logger: logger))
    }

    public func key(hash: String) async throws -> VirtualKey? {
        try await Self.keys(
            client.query(
                "SELECT \(unescaped: Self.keyColumns) FROM virtual_key WHERE hash = \(hash)", logger: logger)
        ).first
    }

    public func key(id: String) async throws -> VirtualKey? {
        try await Self.keys(
            client.query("SELECT \(unescaped: Self.keyColumns) FROM virtual_key WHERE id = \(id)", logger: logger)
        ).first
    }

    public func revokeKey(_ idOrPrefix: String, now: Double) async throws -> VirtualKey? {
        try await transaction { connection in
            guard var key = try await Self.lockedKey(connection, idOrPrefix: idOrPrefix, logger: logger) else {
                return nil
            }
            if key.revokedAt == nil {
                key.revokedAt = now
                try await connection.query(
                    "UPDATE virtual_key SET revoked_at = \(now) WHERE id = \(key.id)", logger: logger)
            }
            return key
        }
    }

    public func updateKey(
        _ idOrPrefix: String, _ change: KeyChange, check: @escaping @Sendable (VirtualKey) throws -> Void
    ) async throws -> VirtualKey? {
        try await transaction { connection in
            guard let key = try await Self.lockedKey(connection, idOrPrefix: idOrPrefix, logger: logger) else {
                return nil
            }
            guard !key.isRevoked else { throw key.revokedConflict }
            let changed = try change.applied(to: key)
            try check(changed)
            if changed != key {
                try await connection.query(
                    """
                    UPDATE virtual_key SET name = \(changed.name), team = \(changed.team),
                        allowed_models = \(changed.allowedModels), rpm = \(changed.rpm), tpm = \(changed.tpm),
                        max_parallel = \(changed.maxParallel), budget = \(changed.budget),
                        budget_period = \(changed.budgetPeriod), cache_audit = \(changed.cacheAudit)
                    WHERE id = \(changed.id)
                    """, logger: logger)
            }
            return changed
        }
    }

    /// The key with this id or secret prefix, locked for the rest of `connection`'s transaction.
    private static func lockedKey(_ connection: PostgresConnection, idOrPrefix: String, logger: Logger) async throws
        -> VirtualKey?
    {
        try await keys(
            connection.query(
                """
                SELECT \(unescaped: keyColumns) FROM virtual_key WHERE id = \(idOrPrefix) OR prefix = \(idOrPrefix)
                ORDER BY created_at LIMIT 1 FOR UPDATE
                """, logger: logger)
        ).first
    }

    /// The rows of a query on ``keyColumns``.
    static func keys(_ rows: PostgresRowSequence) async throws -> [VirtualKey] {
        var keys: [VirtualKey] = []
        for try await row in rows {
            let (id, name, hash, prefix, team, models, rpm, tpm, maxParallel, budget, period, created, revoked, audit) =
                try row.decode(
                    (
                        String, String, String, String, String?, String?, Int?, Int?, Int?, Double?, String?, Double,
                        Double?, Bool?
                    ).self)
            keys.append(
                VirtualKey(
                    id: id, name: name, hash: hash, prefix: prefix, team: team, allowedModels: models, rpm: rpm,
                    tpm: tpm, maxParallel: maxParallel, budget: budget, budgetPeriod: period, createdAt: created,
                    revokedAt: revoked, cacheAudit: audit))
        }
        return keys
    }
}

extension PostgresStore: KeyFeed {
    public func allKeys() async throws -> (through: Int64, keys: [VirtualKey]) {
        try await inSnapshot { connection in
            let through = try await Self.latestChange(connection, logger: self.logger)
            let keys = try await Self.keys(
                connection.query(
                    "SELECT \(unescaped: Self.keyColumns) FROM virtual_key ORDER BY created_at, id",
                    logger: self.logger))
            return (through, keys)
        }
    }

    public func keysChanged(after seq: Int64) async throws -> (through: Int64, keys: [String: VirtualKey?])? {
        try await inSnapshot { connection in
            guard try await Self.latestChange(connection, logger: self.logger) >= seq else { return nil }
            var through = seq
            var changed = Set<String>()
            while true {
                let page = try await Self.changes(
                    connection, after: through, limit: GatewayStore.changePageSize, logger: self.logger)
                if let oldest = page.oldestRetained, oldest > seq + 1 { return nil }
                for change in page.changes where change.kind == .key { changed.insert(change.subject) }
                guard page.through > through else { break }
                through = page.through
            }
            var keys = Dictionary(uniqueKeysWithValues: changed.map { ($0, VirtualKey?.none) })
            for key in try await Self.keys(
                connection.query(
                    "SELECT \(unescaped: Self.keyColumns) FROM virtual_key WHERE id = ANY(\(Array(changed)))",
                    logger: self.logger))
            {
                keys[key.id] = key
            }
            return (through, keys)
        }
    }
}
