import GRDB

/// A labelled pair of prompts: a request's prompt and the cached prompt that answered it, judged the same
/// question (`correct`) or not. Feedback makes them (`POST /v1/cache/feedback`); they enter verifier training
/// only once the master key has approved them.
public struct CacheLabel: Sendable, Equatable, Codable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "cache_label"

    public var id: Int64?
    /// `feedback`, `audit` (a hit's audit) or `near-miss` (a near-miss's audit).
    public var source: String
    public var requestID: String
    /// The key that made the request (and gave the feedback, unless the master key did).
    public var keyID: String
    public var prompt: String
    public var matchedPrompt: String
    public var entryID: Int64
    public var correct: Bool
    public var similarity: Double
    public var verifierScore: Double?
    /// `pending` until the master key approves it (`approved`).
    public var status: String
    /// Who the wrong hit was withdrawn for: a key id, or `*` for everyone (the master key's feedback).
    public var withdrawnFor: String?
    public var createdAt: Double

    enum CodingKeys: String, CodingKey {
        case id, source, prompt, correct, similarity, status
        case requestID = "request_id"
        case keyID = "key_id"
        case matchedPrompt = "matched_prompt"
        case entryID = "entry_id"
        case verifierScore = "verifier_score"
        case withdrawnFor = "withdrawn_for"
        case createdAt = "created_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A semantic hit as served: what feedback on its request refers to.
public struct SemanticHitRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "cache_hit"

    public var requestID: String
    public var keyID: String
    public var entryID: Int64
    /// The request's prompt as embedded.
    public var prompt: String
    public var similarity: Double
    public var verifierScore: Double?
    public var time: Double

    enum CodingKeys: String, CodingKey {
        case prompt, similarity, time
        case requestID = "request_id"
        case keyID = "key_id"
        case entryID = "entry_id"
        case verifierScore = "verifier_score"
    }
}

extension GatewayStore {
    static func registerFeedbackMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v11-cache-feedback") { db in
            try db.create(table: SemanticHitRecord.databaseTableName) { table in
                table.primaryKey("request_id", .text)
                table.column("key_id", .text).notNull()
                table.column("entry_id", .integer).notNull()
                table.column("prompt", .text).notNull()
                table.column("similarity", .double).notNull()
                table.column("verifier_score", .double)
                table.column("time", .double).notNull().indexed()
            }
            try db.create(table: CacheLabel.databaseTableName) { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("source", .text).notNull()
                table.column("request_id", .text).notNull()
                table.column("key_id", .text).notNull()
                table.column("prompt", .text).notNull()
                table.column("matched_prompt", .text).notNull()
                table.column("entry_id", .integer).notNull()
                table.column("correct", .boolean).notNull()
                table.column("similarity", .double).notNull()
                table.column("verifier_score", .double)
                table.column("status", .text).notNull().indexed()
                table.column("withdrawn_for", .text)
                table.column("created_at", .double).notNull()
                table.uniqueKey(["source", "request_id"])
            }
            // A pair no longer served: entry and prompt hash, for one key or for everyone (`*`).
            try db.create(table: "cache_withdrawal") { table in
                table.column("entry_id", .integer).notNull()
                table.column("prompt_hash", .text).notNull()
                table.column("withdrawn_for", .text).notNull()
                table.primaryKey(["entry_id", "prompt_hash", "withdrawn_for"])
            }
        }
        migrator.registerMigration("v12-key-cache-audit") { db in
            try db.alter(table: VirtualKey.databaseTableName) { table in table.add(column: "cache_audit", .boolean) }
        }
    }
}
