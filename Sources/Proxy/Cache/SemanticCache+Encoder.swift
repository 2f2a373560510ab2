import Embedding
import GRDB

/// One encoder per index: the cache records which model and arithmetic made its vectors (fp32 and int8
/// vectors of one model differ slightly, another model's are unrelated), and refuses to open a non-empty
/// index with another, naming the fix. Instances sharing a database therefore share one precision, whatever
/// each CPU could do.
extension SemanticCache {
    static let encoderSetting = "encoder"

    /// The precision of the vectors the index holds, or nil when it holds none: what `precision: auto` takes,
    /// so that an index (and a fleet's shared one) keeps the precision it was built with, whatever this CPU would
    /// choose, and an upgrade that changes what `auto` means here does not refuse to start.
    public static func indexedPrecision(in store: GatewayStore) throws -> EmbeddingPrecision? {
        try store.database.read { db in
            guard try db.tableExists("cache_setting"),
                let recorded = try String.fetchOne(
                    db, sql: "SELECT value FROM cache_setting WHERE name = ?", arguments: [encoderSetting]),
                try Int.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM cache_entry WHERE prompt IS NOT NULL)") == 1,
                let word = recorded.split(separator: " ").last,
                let precision = EmbeddingPrecision(rawValue: String(word)), precision != .auto
            else { return nil }
            return precision
        }
    }

    /// Records `embedder`'s identity for an empty index, or for one built before identities were recorded;
    /// checks it against the recorded one otherwise.
    ///
    /// - Throws: ``GatewayError`` when the index holds vectors of another encoder.
    static func checkEncoder(of embedder: any Embedder, indexed: Int, store: GatewayStore) throws {
        guard let identity = embedder.identity else { return }
        let recorded = try store.database.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM cache_setting WHERE name = ?", arguments: [encoderSetting])
        }
        if let recorded, recorded != identity, indexed > 0 {
            throw GatewayError(
                .internalError,
                "The cache index holds \(indexed) vectors made by `\(recorded)` but the embedder is `\(identity)`: "
                    + "set cache.embedder.precision (and model_dir) to what built the index, or purge the cache "
                    + "(`routershift cache purge --all`) to rebuild it with this encoder.")
        }
        guard recorded != identity else { return }
        try store.database.write { db in
            try db.execute(
                sql: "INSERT INTO cache_setting (name, value) VALUES (?, ?) "
                    + "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                arguments: [encoderSetting, identity])
        }
    }

}
