import GRDB

extension SemanticCache {
    /// Keys again, from its stored request and with this cache's settings, every entry keyed by an older
    /// derivation than ``CacheKey/form`` (a database written before the canonical JSON form, migrated by
    /// `v6-cache-canonical-json`). An entry whose request cannot be read, or whose new key another entry
    /// already has, is dropped with its index node. Runs when the cache opens, before its scopes load.
    ///
    /// - Returns: how many entries were keyed again and how many dropped.
    @discardableResult
    func rekeyEntries() throws -> (rekeyed: Int, dropped: Int) {
        var rekeyed = 0
        var dropped = 0
        let anyToRekey = try store.database.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM cache_entry WHERE key_form < ?)", arguments: [CacheKey.form])
                ?? false
        }
        guard anyToRekey else { return (0, 0) }
        while true {
            let batch = try store.database.write { db -> (rekeyed: Int, dropped: Int)? in
                let rows = try Row.fetchAll(
                    db,
                    sql:
                        "SELECT id, tenant, request, key_form FROM cache_entry WHERE key_form < ? ORDER BY id LIMIT 500",
                    arguments: [CacheKey.form])
                guard !rows.isEmpty else { return nil }
                var counts = (rekeyed: 0, dropped: 0)
                for row in rows {
                    let id: Int64 = row["id"]
                    if let key = self.currentKey(of: row), try !Self.exactKeyTaken(key.exact, by: id, in: db) {
                        try db.execute(
                            sql: "UPDATE cache_entry SET exact_key = ?, scope = ?, key_form = ? WHERE id = ?",
                            arguments: [key.exact, key.scope, CacheKey.form, id])
                        counts.rekeyed += 1
                    } else {
                        _ = try CacheEntry.deleteOne(db, key: id)
                        try self.index?.remove(id, in: db)
                        counts.dropped += 1
                    }
                }
                return counts
            }
            guard let batch else { return (rekeyed, dropped) }
            rekeyed += batch.rekeyed
            dropped += batch.dropped
        }
    }

    /// The key an entry's stored request makes now; nil when the entry was marked unreadable or its
    /// request is not canonical JSON.
    private func currentKey(of row: Row) -> CacheKey? {
        guard (row["key_form"] as Int?) != CacheKey.unreadableForm,
            let json = try? JSONValue.parse(Array((row["request"] as String).utf8)),
            let request = try? ChatRequest(canonicalJSON: json)
        else { return nil }
        return CacheKey(request: request, tenant: row["tenant"], settings: settings, semanticEnabled: false)
    }

    private static func exactKeyTaken(_ exact: String, by id: Int64, in db: Database) throws -> Bool {
        try Int.fetchOne(
            db, sql: "SELECT count(*) FROM cache_entry WHERE exact_key = ? AND id != ?", arguments: [exact, id])
            ?? 0 > 0
    }
}
