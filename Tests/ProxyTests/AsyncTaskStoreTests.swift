import Foundation
import Logging
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

@Suite struct AsyncTaskStoreTests {
    private func withStore(_ body: (GatewayStore) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tasks-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path))
    }

    private func task(_ id: String, key: String = "key_a", at time: Double) -> AsyncTask {
        AsyncTask(
            id: id, keyID: key, model: "m", request: Data("{}".utf8), headers: Data("{}".utf8), status: .queued,
            attempts: 0, createdAt: time, notBefore: time)
    }

    @Test func claimsOldestReadyTaskOnce() throws {
        try withStore { store in
            try store.enqueueTask(task("t2", at: 20))
            try store.enqueueTask(task("t1", at: 10))
            try store.enqueueTask(task("later", at: 1000))
            let first = try #require(try store.claimNextTask(now: 100))
            #expect(first.id == "t1" && first.status == .running && first.attempts == 1 && first.startedAt == 100)
            #expect(try store.claimNextTask(now: 100)?.id == "t2")
            #expect(try store.claimNextTask(now: 100) == nil)
            try store.requeueTask(id: "t2", notBefore: 200)
            #expect(try store.claimNextTask(now: 150) == nil)
            #expect(try store.claimNextTask(now: 200)?.attempts == 2)
        }
    }

    @Test func onlyTheCreatorFindsATask() throws {
        try withStore { store in
            try store.enqueueTask(task("t", key: "key_a", at: 1))
            #expect(try store.task(id: "t", keyID: "key_a") != nil)
            #expect(try store.task(id: "t", keyID: "key_b") == nil)
        }
    }

    @Test func recoveryRequeuesOrFailsInterruptedTasks() throws {
        try withStore { store in
            for (id, time) in [("once", 1.0), ("twice", 2.0), ("waiting", 3.0)] {
                try store.enqueueTask(task(id, at: time))
            }
            _ = try store.claimNextTask(now: 10)  // once: attempt 1
            _ = try store.claimNextTask(now: 10)  // twice: attempt 1
            try store.requeueTask(id: "twice", notBefore: 0)
            _ = try store.claimNextTask(now: 10)  // twice: attempt 2
            let recovered = try store.recoverInterruptedTasks(
                maxAttempts: 2, failure: Data("{\"error\":{}}".utf8), now: 20)
            #expect(recovered.requeued == 1 && recovered.failed == 1)
            #expect(try store.task(id: "once", keyID: "key_a")?.status == .queued)
            let failed = try #require(try store.task(id: "twice", keyID: "key_a"))
            #expect(failed.status == .failed && failed.resultStatus == 500 && failed.finishedAt == 20)
            #expect(try store.task(id: "waiting", keyID: "key_a")?.status == .queued)
        }
    }

    @Test func deletesOnlyOldFinishedTasks() throws {
        try withStore { store in
            try store.enqueueTask(task("old", at: 1))
            try store.enqueueTask(task("new", at: 2))
            try store.enqueueTask(task("pending", at: 3))
            try store.finishTask(id: "old", status: .succeeded, resultStatus: 200, result: Data(), now: 10)
            try store.finishTask(id: "new", status: .failed, resultStatus: 502, result: Data(), now: 100)
            #expect(try store.deleteFinishedTasks(before: 50) == 1)
            #expect(try store.task(id: "old", keyID: "key_a") == nil)
            #expect(try store.task(id: "new", keyID: "key_a") != nil)
            #expect(try store.task(id: "pending", keyID: "key_a") != nil)
        }
    }
}

/// The runner on a clock moved by hand: a rate-limited task waits out its delay on the gateway's clock,
/// however many times the runner wakes in the meantime, and runs again once the clock has passed it.
@Suite struct AsyncTaskRunnerClockTests {
    @Test(.timeLimit(.minutes(1))) func aRetriedTaskRunsAgainOnlyOnceTheClockPassesItsDelay() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        let clock = ManualClock()
        let runs = Shared(0)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let runner = AsyncTaskRunner(
            store: store, settings: GatewayConfiguration.Server(), logger: logger, clock: clock
        ) { _ in
            let run = runs.update { count in
                count += 1
                return count
            }
            return run == 1 ? .retry(after: 30) : .finished(status: 200, body: ["ok": true])
        }
        let now = clock.wallTime()
        try store.enqueueTask(
            AsyncTask(
                id: "t", keyID: "key_a", model: "m", request: Data("{}".utf8), headers: Data("{}".utf8),
                status: .queued, attempts: 0, createdAt: now, notBefore: now))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runner.run() }
            runner.wake()
            while try store.task(id: "t", keyID: "key_a")?.status != .queued || runs.update({ $0 }) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            // Requeued 30 s ahead on the clock, which has not moved: no wake-up can claim it.
            runner.wake()
            #expect(runs.update { $0 } == 1)
            #expect(try store.claimNextTask(now: clock.wallTime()) == nil)
            clock.advance(31)
            runner.wake()
            while try store.task(id: "t", keyID: "key_a")?.status != .succeeded {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(runs.update { $0 } == 2)
            group.cancelAll()
        }
    }
}
