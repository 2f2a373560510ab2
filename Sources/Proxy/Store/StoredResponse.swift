import Foundation
import GRDB

/// A Responses API response kept for `GET /v1/responses/{id}` and for `previous_response_id`: the
/// response object as the client received it, and the conversation it ended (the request's input and the
/// answer, as canonical JSON messages) for a later request to continue.
public struct StoredResponse: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "stored_response"

    /// `resp_...`, as in the response object.
    public var id: String
    /// The key that created it, and the only one that may read, continue or delete it.
    public var keyID: String
    public var model: String
    /// The response object (JSON).
    public var response: Data
    /// The conversation so far (a JSON array of canonical messages, `docs/canonical-json.md`).
    public var conversation: Data
    public var createdAt: Double

    public init(id: String, keyID: String, model: String, response: Data, conversation: Data, createdAt: Double) {
        self.id = id
        self.keyID = keyID
        self.model = model
        self.response = response
        self.conversation = conversation
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case keyID = "key_id"
        case model, response, conversation
        case createdAt = "created_at"
    }

    static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8-stored-responses") { db in
            try db.create(table: databaseTableName) { table in
                table.primaryKey("id", .text)
                table.column("key_id", .text).notNull()
                table.column("model", .text).notNull()
                table.column("response", .blob).notNull()
                table.column("conversation", .blob).notNull()
                table.column("created_at", .double).notNull()
            }
        }
    }
}

/// Where stored responses are kept, each visible only to the key that created it.
public protocol ResponseStore: Sendable {
    func saveResponse(_ response: StoredResponse) throws
    /// The response with this id if `keyID` created it.
    func storedResponse(id: String, keyID: String) throws -> StoredResponse?
    /// Deletes the response with this id if `keyID` created it; whether there was one.
    func deleteResponse(id: String, keyID: String) throws -> Bool
}

extension GatewayStore: ResponseStore {
    public func saveResponse(_ response: StoredResponse) throws {
        try database.write { db in try response.insert(db) }
    }

    public func storedResponse(id: String, keyID: String) throws -> StoredResponse? {
        try readNow { db in
            try StoredResponse.filter(Column("id") == id && Column("key_id") == keyID).fetchOne(db)
        }
    }

    public func deleteResponse(id: String, keyID: String) throws -> Bool {
        try database.write { db in
            try StoredResponse.filter(Column("id") == id && Column("key_id") == keyID).deleteAll(db) > 0
        }
    }
}
