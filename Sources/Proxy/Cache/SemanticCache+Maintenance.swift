import Foundation
import GRDB
import Logging
import ServiceLifecycle

extension SemanticCache {
    /// Writes the hits and last uses noted since the last flush, and the statistics counters, in one
    /// transaction: hits cost no write on the request path.
    func flush() throws {
        let uses = pendingUses.withLock { uses in
            defer { uses.removeAll() }
            return uses
        }
        let hits = pendingHits.withLock { hits in
            defer { hits.removeAll() }
            return hits
        }
        let counts = statistics.takePending()
        let percentiles = statistics.lookupPercentiles()
        let verification = statistics.verificationPercentiles()
        guard !uses.isEmpty || !hits.isEmpty || counts != CacheStatistics.Counts() || percentiles != nil else {
            return
        }
        try store.database.write { db in
            for hit in hits { try hit.upsert(db) }
            let update = try db.cachedStatement(
                sql: "UPDATE cache_entry SET hits = hits + ?, last_used_at = max(last_used_at, ?) WHERE id = ?")
            for (id, use) in uses { try update.execute(arguments: [use.hits, use.lastUsed, id]) }
            let increment = try db.cachedStatement(
                sql:
                    "INSERT INTO cache_counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value"
            )
            for (name, value) in [
                ("exact_hits", Double(counts.exactHits)), ("semantic_hits", Double(counts.semanticHits)),
                ("misses", Double(counts.misses)), ("tokens_saved", Double(counts.tokensSaved)),
                ("cost_saved", counts.costSaved), ("verifications", Double(counts.verifications)),
            ] where value != 0 {
                try increment.execute(arguments: [name, value])
            }
            if let percentiles {
                let set = try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO cache_counter (name, value) VALUES (?, ?)")
                try set.execute(arguments: ["lookup_p50_ms", percentiles.p50])
                try set.execute(arguments: ["lookup_p99_ms", percentiles.p99])
            }
            if let verification {
                let set = try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO cache_counter (name, value) VALUES (?, ?)")
                try set.execute(arguments: ["verifier_p50_ms", verification.p50])
                try set.execute(arguments: ["verifier_p99_ms", verification.p99])
            }
        }
    }

    /// Deletes expired entries, then the least recently used ones beyond `max_entries`.
    @discardableResult
    func sweep() throws -> (expired: Int, evicted: Int) {
        try flush()
        let now = clock.wallTime()
        var expired = 0
        while true {
            let ids = try store.database.read { db in
                try Int64.fetchAll(
                    db, sql: "SELECT id FROM cache_entry WHERE expires_at <= ? LIMIT 1000", arguments: [now])
            }
            if ids.isEmpty { break }
            expired += try delete(ids)
        }
        let count = try store.database.read { db in try CacheEntry.fetchCount(db) }
        var evicted = 0
        if count > settings.maxEntries {
            let excess = count - settings.maxEntries
            let ids = try store.database.read { db in
                try Int64.fetchAll(
                    db, sql: "SELECT id FROM cache_entry ORDER BY last_used_at, id LIMIT ?", arguments: [excess])
            }
            for start in stride(from: 0, to: ids.count, by: 1000) {
                evicted += try delete(Array(ids[start..<min(start + 1000, ids.count)]))
            }
        }
        // Feedback refers to a hit for as long as an entry lives.
        _ = try store.database.write { db in
            try SemanticHitRecord.filter(Column("time") < now - settings.ttl).deleteAll(db)
        }
        return (expired, evicted)
    }

    /// Deletes entries and their index nodes in one transaction; returns how many existed.
    @discardableResult
    func delete(_ ids: [Int64]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let index = index
        let deleted = try store.database.write { db in
            let count = try CacheEntry.deleteAll(db, keys: ids)
            for id in ids { try index?.remove(id, in: db) }
            // What feedback and audits withdrew from these entries goes with them.
            try db.execute(
                sql: "DELETE FROM cache_withdrawal WHERE entry_id IN (\(databaseQuestionMarks(count: ids.count)))",
                arguments: StatementArguments(ids))
            return (count, db.changesCount > 0)
        }
        for id in ids { scopes.remove(entry: id) }
        if deleted.1 { try loadWithdrawals() }
        return deleted.0
    }
}

/// Runs the cache's upkeep beside the server: flushes hits every two seconds, sweeps expired and surplus
/// entries every minute, and flushes once more on shutdown.
struct CacheMaintenanceService: Service {
    let cache: SemanticCache
    let logger: Logger

    func run() async throws {
        var sinceSweep = 0.0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 2_000_000_000)
            sinceSweep += 2
            do {
                if sinceSweep >= 60 {
                    sinceSweep = 0
                    let (expired, evicted) = try cache.sweep()
                    if expired + evicted > 0 {
                        logger.info("cache sweep", metadata: ["expired": "\(expired)", "evicted": "\(evicted)"])
                    }
                } else {
                    try cache.flush()
                }
            } catch {
                logger.error("cache upkeep failed", metadata: ["error": "\(error)"])
            }
        }
        try? cache.flush()
        cache.saveIndexSnapshot(logger: logger)
    }
}

extension SemanticCache {
    /// Copies the semantic index to its snapshot file if it changed, so the next start reads the file
    /// instead of the index's rows (``PersistentHNSWIndex/saveSnapshot()``); a failure is logged, as the
    /// rows remain and the next start reads them.
    public func saveIndexSnapshot(logger: Logger) {
        guard let index else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            guard try index.saveSnapshot() else { return }
            logger.info(
                "cache index snapshot written",
                metadata: [
                    "entries": "\(index.count)",
                    "seconds": "\(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)",
                ])
        } catch {
            logger.warning("cache index snapshot not written", metadata: ["error": "\(error)"])
        }
    }
}
