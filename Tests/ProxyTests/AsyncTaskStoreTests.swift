import Foundation
import Logging
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// What every ``AsyncTaskStore`` does, on SQLite and on PostgreSQL: claims in order and once, leases that only
/// their holder can use, recovery of the tasks of a stopped instance, retention.
@Suite struct AsyncTaskStoreTests {
    private func task(_ id: String, key: String = "key_a", at time: Double) -> AsyncTask {
        AsyncTask(
            id: id, keyID: key, model: "m", request: Data("{}".utf8), headers: Data("{}".utf8), status: .queued,
            attempts: 0, createdAt: time, notBefore: time)
    }

    private func enqueue(_ tasks: [(id: String, time: Double)], in store: any AsyncTaskStore) async throws {
        for (id, time) in tasks { try await store.enqueueTask(task(id, at: time)) }
    }

    @Test(arguments: StoreBackend.available) func claimsOldestReadyTaskOnce(_ backend: StoreBackend) async throws {
        try await backend.withStores(count: 1) { stores in
            let store = stores[0]
            try await enqueue([("t2", 20), ("t1", 10), ("later", 1000)], in: store)
            let first = try #require(try await store.claimNextTask(now: 100, owner: "a", leaseUntil: 130))
            #expect(first.id == "t1" && first.status == .running && first.attempts == 1 && first.startedAt == 100)
            #expect(first.claimedBy == "a" && first.leaseUntil == 130)
            #expect(try await store.claimNextTask(now: 100, owner: "a", leaseUntil: 130)?.id == "t2")
            #expect(try await store.claimNextTask(now: 100, owner: "a", leaseUntil: 130) == nil)
            #expect(try await store.requeueTask(id: "t2", owner: "a", notBefore: 200))
            #expect(try await store.claimNextTask(now: 150, owner: "a", leaseUntil: 180) == nil)
            #expect(try await store.claimNextTask(now: 200, owner: "a", leaseUntil: 230)?.attempts == 2)
        }
    }

    @Test(arguments: StoreBackend.available) func onlyTheCreatorFindsATask(_ backend: StoreBackend) async throws {
        try await backend.withStores(count: 1) { stores in
            try await stores[0].enqueueTask(task("t", key: "key_a", at: 1))
            #expect(try await stores[0].task(id: "t", keyID: "key_a") != nil)
            #expect(try await stores[0].task(id: "t", keyID: "key_b") == nil)
        }
    }

    /// Three instances claiming from one queue at once: every task is claimed, none twice.
    @Test(arguments: StoreBackend.available) func instancesClaimingAtOnceNeverShareATask(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores(count: 3) { stores in
            for index in 0..<60 { try await stores[0].enqueueTask(task("t\(index)", at: Double(index))) }
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask {
                        var mine: [String] = []
                        while let task = try await store.claimNextTask(
                            now: 100, owner: "instance-\(index)", leaseUntil: 130)
                        {
                            mine.append(task.id)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(claimed.count == 60)
            #expect(Set(claimed).count == 60, "no task claimed twice")
        }
    }

    /// An instance that stopped leaves its tasks running under a lease; once the lease ends another instance
    /// takes them back, and the stopped one, if it comes back, can no longer record an outcome for them.
    @Test(arguments: StoreBackend.available) func anEndedLeaseGoesToAnotherInstance(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores { stores in
            let (first, second) = (stores[0], stores[1])
            try await enqueue([("kept", 1), ("lost", 2)], in: first)
            _ = try await first.claimNextTask(now: 10, owner: "first", leaseUntil: 40)
            _ = try await first.claimNextTask(now: 10, owner: "first", leaseUntil: 40)
            #expect(try await first.renewLeases(owner: "first", until: 70) == 2)
            #expect(
                try await first.finishTask(
                    id: "kept", owner: "first", status: .succeeded, resultStatus: 200, result: Data("ok".utf8), now: 50)
            )

            let failure = Data("{\"error\":{}}".utf8)
            let early = try await second.recoverInterruptedTasks(
                expiredBefore: 60, maxAttempts: 3, failure: failure, now: 60)
            #expect(early.requeued == 0 && early.failed == 0, "the lease holds until 70")
            let late = try await second.recoverInterruptedTasks(
                expiredBefore: 71, maxAttempts: 3, failure: failure, now: 71)
            #expect(late.requeued == 1 && late.failed == 0)
            let again = try #require(try await second.claimNextTask(now: 72, owner: "second", leaseUntil: 102))
            #expect(again.id == "lost" && again.attempts == 2 && again.claimedBy == "second")

            #expect(
                try await !first.finishTask(
                    id: "lost", owner: "first", status: .succeeded, resultStatus: 200, result: Data(), now: 73),
                "a lost claim records nothing")
            #expect(try await !first.requeueTask(id: "lost", owner: "first", notBefore: 80))
            #expect(
                try await second.finishTask(
                    id: "lost", owner: "second", status: .succeeded, resultStatus: 200, result: Data("yes".utf8),
                    now: 74))
            let finished = try #require(try await first.task(id: "lost", keyID: "key_a"))
            #expect(finished.status == .succeeded && finished.result == Data("yes".utf8) && finished.finishedAt == 74)
            #expect(try await first.task(id: "kept", keyID: "key_a")?.result == Data("ok".utf8))
        }
    }

    @Test(arguments: StoreBackend.available) func recoveryRequeuesOrFailsInterruptedTasks(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores(count: 1) { stores in
            let store = stores[0]
            try await enqueue([("once", 1), ("twice", 2), ("waiting", 3)], in: store)
            _ = try await store.claimNextTask(now: 10, owner: "a", leaseUntil: 40)  // once: attempt 1
            _ = try await store.claimNextTask(now: 10, owner: "a", leaseUntil: 40)  // twice: attempt 1
            #expect(try await store.requeueTask(id: "twice", owner: "a", notBefore: 0))
            _ = try await store.claimNextTask(now: 10, owner: "a", leaseUntil: 40)  // twice: attempt 2
            // A process that owned the store alone restarts: every running task is an orphan, leases or not.
            let recovered = try await store.recoverInterruptedTasks(
                expiredBefore: .greatestFiniteMagnitude, maxAttempts: 2, failure: Data("{\"error\":{}}".utf8), now: 20)
            #expect(recovered.requeued == 1 && recovered.failed == 1)
            #expect(try await store.task(id: "once", keyID: "key_a")?.status == .queued)
            let failed = try #require(try await store.task(id: "twice", keyID: "key_a"))
            #expect(failed.status == .failed && failed.resultStatus == 500 && failed.finishedAt == 20)
            #expect(try await store.task(id: "waiting", keyID: "key_a")?.status == .queued)
        }
    }

    @Test(arguments: StoreBackend.available) func deletesOnlyOldFinishedTasks(_ backend: StoreBackend) async throws {
        try await backend.withStores(count: 1) { stores in
            let store = stores[0]
            try await enqueue([("old", 1), ("new", 2), ("pending", 3)], in: store)
            _ = try await store.claimNextTask(now: 5, owner: "a", leaseUntil: 35)
            _ = try await store.claimNextTask(now: 5, owner: "a", leaseUntil: 35)
            #expect(
                try await store.finishTask(
                    id: "old", owner: "a", status: .succeeded, resultStatus: 200, result: Data(), now: 10))
            #expect(
                try await store.finishTask(
                    id: "new", owner: "a", status: .failed, resultStatus: 502, result: Data(), now: 100))
            #expect(try await store.deleteFinishedTasks(before: 50) == 1)
            #expect(try await store.task(id: "old", keyID: "key_a") == nil)
            #expect(try await store.task(id: "new", keyID: "key_a") != nil)
            #expect(try await store.task(id: "pending", keyID: "key_a") != nil)
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
            store: store, storeIsExclusive: true, owner: "test", settings: GatewayConfiguration.Server(),
            logger: logger, clock: clock
        ) { _ in
            let run = runs.update { count in
                count += 1
                return count
            }
            return run == 1 ? .retry(after: 30) : .finished(status: 200, body: ["ok": true])
        }
        let now = clock.wallTime()
        try await store.enqueueTask(
            AsyncTask(
                id: "t", keyID: "key_a", model: "m", request: Data("{}".utf8), headers: Data("{}".utf8),
                status: .queued, attempts: 0, createdAt: now, notBefore: now))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runner.run() }
            runner.wake()
            while try await store.task(id: "t", keyID: "key_a")?.status != .queued || runs.update({ $0 }) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            // Requeued 30 s ahead on the clock, which has not moved: no wake-up can claim it.
            runner.wake()
            #expect(runs.update { $0 } == 1)
            #expect(
                try await store.claimNextTask(now: clock.wallTime(), owner: "other", leaseUntil: clock.wallTime() + 30)
                    == nil)
            clock.advance(31)
            runner.wake()
            while try await store.task(id: "t", keyID: "key_a")?.status != .succeeded {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(runs.update { $0 } == 2)
            group.cancelAll()
        }
    }
}
