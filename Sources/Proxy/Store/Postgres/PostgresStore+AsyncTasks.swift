import Foundation
import PostgresNIO

/// Async tasks in PostgreSQL, shared by every instance: a claim takes the oldest ready task that no other
/// claim has locked (`FOR UPDATE SKIP LOCKED`), so instances claiming at once never get the same one.
extension PostgresStore: AsyncTaskStore {
    static let taskColumns = """
        id, key_id, model, request, headers, status, attempts, created_at, not_before, started_at, finished_at, \
        result_status, result, claimed_by, lease_until
        """

    public func enqueueTask(_ task: AsyncTask) async throws {
        try await client.query(
            """
            INSERT INTO async_task (\(unescaped: Self.taskColumns)) VALUES (
                \(task.id), \(task.keyID), \(task.model), \(task.request), \(task.headers), \(task.status.rawValue),
                \(task.attempts), \(task.createdAt), \(task.notBefore), \(task.startedAt), \(task.finishedAt),
                \(task.resultStatus), \(task.result), \(task.claimedBy), \(task.leaseUntil))
            """, logger: logger)
    }

    public func task(id: String, keyID: String) async throws -> AsyncTask? {
        try await Self.tasks(
            client.query(
                "SELECT \(unescaped: Self.taskColumns) FROM async_task WHERE id = \(id) AND key_id = \(keyID)",
                logger: logger)
        ).first
    }

    public func claimNextTask(now: Double, owner: String, leaseUntil: Double) async throws -> AsyncTask? {
        try await Self.tasks(
            client.query(
                """
                UPDATE async_task SET status = 'running', started_at = \(now), attempts = attempts + 1,
                    claimed_by = \(owner), lease_until = \(leaseUntil)
                WHERE id = (SELECT id FROM async_task WHERE status = 'queued' AND not_before <= \(now)
                            ORDER BY not_before, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING \(unescaped: Self.taskColumns)
                """, logger: logger)
        ).first
    }

    public func renewLeases(owner: String, until: Double) async throws -> Int {
        try await count(
            """
            UPDATE async_task SET lease_until = \(until) WHERE status = 'running' AND claimed_by = \(owner)
            RETURNING 1
            """)
    }

    public func finishTask(
        id: String, owner: String, status: AsyncTask.Status, resultStatus: Int, result: Data, now: Double
    ) async throws -> Bool {
        try await count(
            """
            UPDATE async_task SET status = \(status.rawValue), result_status = \(resultStatus), result = \(result),
                finished_at = \(now), lease_until = NULL
            WHERE id = \(id) AND status = 'running' AND claimed_by = \(owner)
            RETURNING 1
            """) == 1
    }

    public func requeueTask(id: String, owner: String, notBefore: Double) async throws -> Bool {
        try await count(
            """
            UPDATE async_task SET status = 'queued', not_before = \(notBefore), claimed_by = NULL, lease_until = NULL
            WHERE id = \(id) AND status = 'running' AND claimed_by = \(owner)
            RETURNING 1
            """) == 1
    }

    public func recoverInterruptedTasks(expiredBefore: Double, maxAttempts: Int, failure: Data, now: Double)
        async throws -> (requeued: Int, failed: Int)
    {
        try await transaction { connection in
            let failed = try await Self.count(
                connection.query(
                    """
                    UPDATE async_task SET status = 'failed', result_status = 500, result = \(failure),
                        finished_at = \(now), lease_until = NULL
                    WHERE status = 'running' AND (lease_until IS NULL OR lease_until < \(expiredBefore))
                        AND attempts >= \(maxAttempts)
                    RETURNING 1
                    """, logger: self.logger))
            let requeued = try await Self.count(
                connection.query(
                    """
                    UPDATE async_task SET status = 'queued', claimed_by = NULL, lease_until = NULL
                    WHERE status = 'running' AND (lease_until IS NULL OR lease_until < \(expiredBefore))
                    RETURNING 1
                    """, logger: self.logger))
            return (requeued, failed)
        }
    }

    public func deleteFinishedTasks(before: Double) async throws -> Int {
        try await count(
            """
            DELETE FROM async_task WHERE status IN ('succeeded', 'failed') AND finished_at < \(before) RETURNING 1
            """)
    }

    /// How many rows a statement with `RETURNING 1` touched.
    private func count(_ query: PostgresQuery) async throws -> Int {
        try await Self.count(client.query(query, logger: logger))
    }

    private static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    /// The rows of a query on ``taskColumns``.
    private static func tasks(_ rows: PostgresRowSequence) async throws -> [AsyncTask] {
        var tasks: [AsyncTask] = []
        for try await row in rows {
            let (
                id, keyID, model, request, headers, status, attempts, created, notBefore, started, finished,
                resultStatus, result, claimedBy, leaseUntil
            ) = try row.decode(
                (
                    String, String, String, Data, Data, String, Int, Double, Double, Double?, Double?, Int?, Data?,
                    String?, Double?
                ).self)
            guard let status = AsyncTask.Status(rawValue: status) else {
                throw GatewayError(.internalError, "Task \(id) has an unknown status `\(status)`.")
            }
            tasks.append(
                AsyncTask(
                    id: id, keyID: keyID, model: model, request: request, headers: headers, status: status,
                    attempts: attempts, createdAt: created, notBefore: notBefore, startedAt: started,
                    finishedAt: finished, resultStatus: resultStatus, result: result, claimedBy: claimedBy,
                    leaseUntil: leaseUntil))
        }
        return tasks
    }
}
