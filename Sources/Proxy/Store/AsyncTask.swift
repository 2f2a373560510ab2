import Foundation
import GRDB

/// A chat completion accepted now and run in the background. Durable: a task queued or running when the
/// gateway stops is run again when it restarts, or marked failed once it has used its attempts.
public struct AsyncTask: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "async_task"

    public enum Status: String, Sendable, Codable {
        case queued, running, succeeded, failed
    }

    public var id: String
    /// The key that created the task, and the only one that may read it.
    public var keyID: String
    public var model: String
    /// The request body as sent (JSON).
    public var request: Data
    /// The request's `x-routershift-*` headers (JSON object), so cache directives hold when it runs.
    public var headers: Data
    public var status: Status
    public var attempts: Int
    public var createdAt: Double
    /// Not to be run before this time (a rate-limited task waits).
    public var notBefore: Double
    public var startedAt: Double?
    public var finishedAt: Double?
    /// The HTTP status of the answer, and the answer: a completion, or an error in OpenAI's format.
    public var resultStatus: Int?
    public var result: Data?

    enum CodingKeys: String, CodingKey {
        case id
        case keyID = "key_id"
        case model, request, headers, status, attempts
        case createdAt = "created_at"
        case notBefore = "not_before"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case resultStatus = "result_status"
        case result
    }

    static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-async-tasks") { db in
            try db.create(table: "async_task") { table in
                table.primaryKey("id", .text)
                table.column("key_id", .text).notNull()
                table.column("model", .text).notNull()
                table.column("request", .blob).notNull()
                table.column("headers", .blob).notNull()
                table.column("status", .text).notNull()
                table.column("attempts", .integer).notNull()
                table.column("created_at", .double).notNull()
                table.column("not_before", .double).notNull()
                table.column("started_at", .double)
                table.column("finished_at", .double)
                table.column("result_status", .integer)
                table.column("result", .blob)
            }
            try db.create(index: "async_task_by_status", on: "async_task", columns: ["status", "not_before"])
        }
    }
}

/// Where async tasks are kept.
public protocol AsyncTaskStore: Sendable {
    func enqueueTask(_ task: AsyncTask) throws
    /// The task with this id if `keyID` created it.
    func task(id: String, keyID: String) throws -> AsyncTask?
    /// Marks the oldest task that may run now as running and returns it.
    func claimNextTask(now: Double) throws -> AsyncTask?
    func finishTask(id: String, status: AsyncTask.Status, resultStatus: Int, result: Data, now: Double) throws
    /// Puts a running task back in the queue until `notBefore`.
    func requeueTask(id: String, notBefore: Double) throws
    /// After a restart: the tasks left running go back to the queue, or fail when out of attempts.
    func recoverInterruptedTasks(maxAttempts: Int, failure: Data, now: Double) throws -> (requeued: Int, failed: Int)
    /// Deletes finished tasks older than `before`.
    func deleteFinishedTasks(before: Double) throws -> Int
}

extension GatewayStore: AsyncTaskStore {
    public func enqueueTask(_ task: AsyncTask) throws {
        try database.write { db in try task.insert(db) }
    }

    public func task(id: String, keyID: String) throws -> AsyncTask? {
        try database.read { db in
            try AsyncTask.filter(Column("id") == id && Column("key_id") == keyID).fetchOne(db)
        }
    }

    public func claimNextTask(now: Double) throws -> AsyncTask? {
        try database.write { db in
            try AsyncTask.fetchOne(
                db,
                sql: """
                    UPDATE async_task SET status = 'running', started_at = ?, attempts = attempts + 1
                    WHERE id = (SELECT id FROM async_task WHERE status = 'queued' AND not_before <= ?
                                ORDER BY not_before, created_at LIMIT 1)
                    RETURNING *
                    """, arguments: [now, now])
        }
    }

    public func finishTask(id: String, status: AsyncTask.Status, resultStatus: Int, result: Data, now: Double) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE async_task SET status = ?, result_status = ?, result = ?, finished_at = ? WHERE id = ?",
                arguments: [status.rawValue, resultStatus, result, now, id])
        }
    }

    public func requeueTask(id: String, notBefore: Double) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE async_task SET status = 'queued', not_before = ? WHERE id = ?", arguments: [notBefore, id])
        }
    }

    public func recoverInterruptedTasks(maxAttempts: Int, failure: Data, now: Double) throws -> (
        requeued: Int, failed: Int
    ) {
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE async_task SET status = 'failed', result_status = 500, result = ?, finished_at = ?
                    WHERE status = 'running' AND attempts >= ?
                    """, arguments: [failure, now, maxAttempts])
            let failed = db.changesCount
            try db.execute(sql: "UPDATE async_task SET status = 'queued' WHERE status = 'running'")
            return (db.changesCount, failed)
        }
    }

    public func deleteFinishedTasks(before: Double) throws -> Int {
        try database.write { db in
            try db.execute(
                sql: "DELETE FROM async_task WHERE status IN ('succeeded', 'failed') AND finished_at < ?",
                arguments: [before])
            return db.changesCount
        }
    }
}
