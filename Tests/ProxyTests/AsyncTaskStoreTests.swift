import Foundation
import Testing

@testable import Proxy

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
