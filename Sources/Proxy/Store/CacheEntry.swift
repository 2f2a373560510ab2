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
    /// Canonical request JSON.
    public var request: String
    /// Canonical response JSON.
    public var response: String
    public var promptTokens: Int
    public var completionTokens: Int
    /// Dollars the original answer cost.
    public var cost: Double
    public var createdAt: Double
    public var expiresAt: Double
    public var lastUsedAt: Double
    public var hits: Int
    /// The prompt's token ids (little-endian Int32) and last hidden states (IEEE half floats), for the
    /// verifier; nil when the embedder exposes no token states.
    public var tokenIDs: Data?
    public var tokenStates: Data?

    /// Every column but the token states, for reads that do not verify.
    static let columnsWithoutTokenStates: [Column] = CodingKeys.allCases
        .filter { $0 != .tokenIDs && $0 != .tokenStates }.map { Column($0.rawValue) }

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
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    var decodedResponse: ChatResponse? {
        try? JSONDecoder().decode(ChatResponse.self, from: Data(response.utf8))
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
    }
}
