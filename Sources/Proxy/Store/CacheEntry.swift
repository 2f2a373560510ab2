import Foundation
import GRDB

/// One cached answer: the request it answers (its scope and exact key, the text embedded), the canonical
/// response, what it cost, and its life (expiry, hits, last use).
public struct CacheEntry: Sendable, Equatable, Codable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "cache_entry"

    public var id: Int64?
    public var exactKey: String
    public var scope: String
    public var tenant: String
    public var model: String
    /// The embedded text; nil when the entry is only reachable by its exact key.
    public var prompt: String?
    /// The request in canonical JSON (`docs/canonical-json.md`), keys sorted.
    public var request: String
    /// The response in canonical JSON, keys sorted.
    public var response: String
    public var promptTokens: Int
    public var completionTokens: Int
    /// Dollars the original answer cost.
    public var cost: Double
    public var createdAt: Double
    public var expiresAt: Double
    public var lastUsedAt: Double
    public var hits: Int
    /// The prompt's token ids (little-endian Int32) and last hidden states (``TokenStateCoding``), for the
    /// verifier; nil when the embedder exposes no token states.
    public var tokenIDs: Data?
    public var tokenStates: Data?
    /// The key derivation that made `exactKey` and `scope` (``CacheKey/form``); older ones are keyed again.
    public var keyForm = CacheKey.form

    /// Every column but the token states, for reads that do not verify: the hit path's, which run as cached
    /// statements (prepared once a connection).
    static let selectWithoutTokenStates =
        "SELECT "
        + CodingKeys.allCases.filter { $0 != .tokenIDs && $0 != .tokenStates }.map { "\"\($0.rawValue)\"" }
        .joined(separator: ", ") + " FROM cache_entry"

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id
        case exactKey = "exact_key"
        case scope, tenant, model, prompt, request, response
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case cost
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case lastUsedAt = "last_used_at"
        case hits
        case tokenIDs = "token_ids"
        case tokenStates = "token_states"
        case keyForm = "key_form"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    var decodedResponse: ChatResponse? {
        guard let json = try? JSONValue.parse(Array(response.utf8)) else { return nil }
        return try? ChatResponse(canonicalJSON: json)
    }
}

extension GatewayStore {
    static func registerCacheMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-cache") { db in
            try db.create(table: "cache_entry") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("exact_key", .text).notNull().unique()
                table.column("scope", .text).notNull().indexed()
                table.column("tenant", .text).notNull()
                table.column("model", .text).notNull().indexed()
                table.column("prompt", .text)
                table.column("request", .text).notNull()
                table.column("response", .text).notNull()
                table.column("prompt_tokens", .integer).notNull()
                table.column("completion_tokens", .integer).notNull()
                table.column("cost", .double).notNull()
                table.column("created_at", .double).notNull()
                table.column("expires_at", .double).notNull().indexed()
                table.column("last_used_at", .double).notNull().indexed()
                table.column("hits", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "cache_counter") { table in
                table.primaryKey("name", .text)
                table.column("value", .double).notNull()
            }
        }
        migrator.registerMigration("v3-cache-token-states") { db in
            try db.alter(table: "cache_entry") { table in
                table.add(column: "token_ids", .blob)
                table.add(column: "token_states", .blob)
            }
        }
        migrator.registerMigration("v6-cache-canonical-json") { db in
            try db.alter(table: "cache_entry") { table in
                table.add(column: "key_form", .integer).notNull().defaults(to: 0)
            }
            try GatewayStore.rewriteLegacyEntries(db)
        }
        migrator.registerMigration("v10-cache-encoder") { db in
            try db.create(table: "cache_setting") { table in
                table.primaryKey("name", .text)
                table.column("value", .text).notNull()
            }
        }
    }

    /// An index for what the cache checks of every entry when it opens: whether any needs keying again.
    /// `key_form` was added by `ALTER`, so it is stored after the token states, beyond each row's first page:
    /// without the index that check read the whole table.
    static func registerCacheOpeningIndex(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v14-cache-key-form-index") { db in
            try db.create(index: "cache_entry_key_form", on: "cache_entry", columns: ["key_form"])
        }
    }

    /// Rewrites the request and response of every entry from Swift's synthesised encoding to the canonical
    /// JSON form, in batches. An entry that cannot be read is marked (``CacheKey/unreadableForm``) for the
    /// cache to drop when it keys entries again (``SemanticCache/rekeyEntries()``), with its index node.
    static func rewriteLegacyEntries(_ db: Database) throws {
        var after: Int64 = 0
        while true {
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, request, response FROM cache_entry WHERE id > ? ORDER BY id LIMIT 500",
                arguments: [after])
            guard let last = rows.last else { return }
            after = last["id"]
            for row in rows {
                guard let request = try? JSONValue.parse(Array((row["request"] as String).utf8)),
                    let response = try? JSONValue.parse(Array((row["response"] as String).utf8)),
                    let canonicalRequest = LegacyCacheForm.request(request),
                    let canonicalResponse = LegacyCacheForm.response(response)
                else {
                    try db.execute(
                        sql: "UPDATE cache_entry SET key_form = ? WHERE id = ?",
                        arguments: [CacheKey.unreadableForm, row["id"] as Int64])
                    continue
                }
                try db.execute(
                    sql: "UPDATE cache_entry SET request = ?, response = ? WHERE id = ?",
                    arguments: [
                        canonicalRequest.canonicalJSON.sortedJSONString,
                        canonicalResponse.canonicalJSON.sortedJSONString,
                        row["id"] as Int64,
                    ])
            }
        }
    }
}
