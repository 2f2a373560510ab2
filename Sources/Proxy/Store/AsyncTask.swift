import Foundation
import GRDB

/// A chat completion accepted now and run in the background. Durable: a task queued or running when the
/// gateway stops is run again when it restarts (or, in a fleet, by another instance once its lease ends), or
/// marked failed once it has used its attempts.
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
    /// The gateway instance running the task, and until when its claim holds unless renewed: a running task
    /// whose lease has ended belongs to an instance that stopped, and goes back to the queue.
    public var claimedBy: String? = nil
    public var leaseUntil: Double? = nil

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
        case claimedBy = "claimed_by"
        case leaseUntil = "lease_until"
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
        migrator.registerMigration("v16-async-task-lease") { db in
            try db.alter(table: "async_task") { table in
                table.add(column: "claimed_by", .text)
                table.add(column: "lease_until", .double)
            }
        }
    }
}

/// Where async tasks are kept: in SQLite (``GatewayStore``) or in PostgreSQL (``PostgresStore``), which pass
/// one test suite. A task is claimed by one instance at a time, under a lease that instance renews while it
/// runs the task; only the holder of a claim records the task's outcome.
public protocol AsyncTaskStore: Sendable {
    func enqueueTask(_ task: AsyncTask) async throws
    /// The task with this id if `keyID` created it.
    func task(id: String, keyID: String) async throws -> AsyncTask?
    /// Marks the oldest task that may run now as running, claimed by `owner` until `leaseUntil`, and returns
    /// it. Callers claiming at once never get the same task.
    func claimNextTask(now: Double, owner: String, leaseUntil: Double) async throws -> AsyncTask?
    /// Extends the leases of the tasks `owner` is running; returns how many.
    func renewLeases(owner: String, until: Double) async throws -> Int
    /// Records a task's answer; false when `owner` no longer holds the task (its lease ended and it was
    /// claimed again), and nothing is recorded.
    func finishTask(id: String, owner: String, status: AsyncTask.Status, resultStatus: Int, result: Data, now: Double)
        async throws -> Bool
    /// Puts a running task back in the queue until `notBefore`; false when `owner` no longer holds it.
    func requeueTask(id: String, owner: String, notBefore: Double) async throws -> Bool
    /// Running tasks whose lease ended before `expiredBefore` (their instance stopped) go back to the queue, or
    /// fail once they have used `maxAttempts`.
    func recoverInterruptedTasks(expiredBefore: Double, maxAttempts: Int, failure: Data, now: Double) async throws
        -> (requeued: Int, failed: Int)
    /// Deletes finished tasks older than `before`.
    func deleteFinishedTasks(before: Double) async throws -> Int
}

extension GatewayStore: AsyncTaskStore {
    public func enqueueTask(_ task: AsyncTask) async throws {
        try await StoreThreads.run { try self.database.write { db in try task.insert(db) } }
    }

    public func task(id: String, keyID: String) async throws -> AsyncTask? {
        try await StoreThreads.run {
            try self.database.read { db in
                try AsyncTask.filter(Column("id") == id && Column("key_id") == keyID).fetchOne(db)
            }
        }
    }

    public func claimNextTask(now: Double, owner: String, leaseUntil: Double) async throws -> AsyncTask? {
        try await StoreThreads.run {
            try self.database.write { db in
                try AsyncTask.fetchOne(
                    db,
                    sql: """
                        UPDATE async_task SET status = 'running', started_at = ?, attempts = attempts + 1,
                            claimed_by = ?, lease_until = ?
                        WHERE id = (SELECT id FROM async_task WHERE status = 'queued' AND not_before <= ?
                                    ORDER BY not_before, created_at LIMIT 1)
                        RETURNING *
                        """, arguments: [now, owner, leaseUntil, now])
            }
        }
    }

    public func renewLeases(owner: String, until: Double) async throws -> Int {
        try await write(
            "UPDATE async_task SET lease_until = ? WHERE status = 'running' AND claimed_by = ?", [until, owner])
    }

    public func finishTask(
        id: String, owner: String, status: AsyncTask.Status, resultStatus: Int, result: Data, now: Double
    ) async throws -> Bool {
        try await write(
            """
            UPDATE async_task SET status = ?, result_status = ?, result = ?, finished_at = ?, lease_until = NULL
            WHERE id = ? AND status = 'running' AND claimed_by = ?
            """, [status.rawValue, resultStatus, result, now, id, owner]) == 1
    }

    public func requeueTask(id: String, owner: String, notBefore: Double) async throws -> Bool {
        try await write(
            """
            UPDATE async_task SET status = 'queued', not_before = ?, claimed_by = NULL, lease_until = NULL
            WHERE id = ? AND status = 'running' AND claimed_by = ?
            """, [notBefore, id, owner]) == 1
    }

    public func recoverInterruptedTasks(expiredBefore: Double, maxAttempts: Int, failure: Data, now: Double)
        async throws -> (requeued: Int, failed: Int)
    {
        try await StoreThreads.run {
            try self.database.write { db in
                let expired = "status = 'running' AND (lease_until IS NULL OR lease_until < ?)"
                try db.execute(
                    sql: """
                        UPDATE async_task SET status = 'failed', result_status = 500, result = ?, finished_at = ?,
                            lease_until = NULL
                        WHERE \(expired) AND attempts >= ?
                        """, arguments: [failure, now, expiredBefore, maxAttempts])
                let failed = db.changesCount
                try db.execute(
                    sql:
                        "UPDATE async_task SET status = 'queued', claimed_by = NULL, lease_until = NULL WHERE \(expired)",
                    arguments: [expiredBefore])
                return (db.changesCount, failed)
            }
        }
    }

    public func deleteFinishedTasks(before: Double) async throws -> Int {
        try await write(
            "DELETE FROM async_task WHERE status IN ('succeeded', 'failed') AND finished_at < ?", [before])
    }

    /// Runs one statement in a write transaction and returns how many rows it changed.
    private func write(_ sql: String, _ arguments: StatementArguments) async throws -> Int {
        try await StoreThreads.run {
            try self.database.write { db in
                try db.execute(sql: sql, arguments: arguments)
                return db.changesCount
            }
        }
    }
}
