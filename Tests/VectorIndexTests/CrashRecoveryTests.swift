import Foundation
import GRDB
import Testing
import VectorIndex

/// A writer process is killed with SIGKILL at random moments; each time, the index must reopen to exactly
/// the operations that committed, with its graph intact.
@Suite struct CrashRecoveryTests {
    @Test func reopensToTheCommittedRowsAfterSIGKILL() throws {
        let file = try TemporaryDatabase()
        let log = file.directory.appendingPathComponent("operations.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        var expected = Set<Int64>()
        var generator = SystemRandomNumberGenerator()

        for round in 0..<6 {
            let worker = Process()
            worker.executableURL = try workerExecutable()
            worker.arguments = [file.path, log.path, String(round + 1), String(round * 1_000_000 + 1)]
            try worker.run()
            // Killed at a random moment after its first acknowledged operation, however slowly the machine
            // runs it: a kill before any commit would leave nothing to check.
            try waitForAcknowledgement(in: log, of: worker)
            usleep(UInt32.random(in: 0...400_000, using: &generator))
            kill(worker.processIdentifier, SIGKILL)
            worker.waitUntilExit()
            #expect(worker.terminationReason == .uncaughtSignal)

            let (acknowledged, inFlight) = try replay(log: log, from: expected)
            let index = try PersistentHNSWIndex(database: try file.open(), name: "crash", dimension: 32)
            let members = Set(index.labels)
            let committedRows = try Set(
                file.open().read { db in
                    try Int64.fetchAll(db, sql: "SELECT label FROM vector_index_crash WHERE label IS NOT NULL")
                })
            #expect(members == committedRows)
            #expect(members == acknowledged || members == inFlight, "round \(round): not a committed state")
            #expect(members.count > 0)
            expected = members
            try FileManager.default.removeItem(at: log)
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)

            // Recall holds: each member's own vector finds it, and the approximate search agrees with exact.
            let sample = members.shuffled().prefix(50)
            var recalled = 0
            for label in sample {
                let vector = try #require(index.vector(for: label))
                let hits = try index.search(vector, k: 10, ef: 64)
                let exact = try index.exactSearch(vector, k: 10)
                recalled += Set(hits.map(\.label)).intersection(exact.map(\.label)).count
                #expect(hits.first?.label == label)
            }
            #expect(Double(recalled) / Double(sample.count * 10) >= 0.95)
        }
    }

    /// Replays the worker's log over `start`: the set after every acknowledged operation, and that set with
    /// the operation that had begun but not finished when the worker died.
    private func replay(log: URL, from start: Set<Int64>) throws -> (Set<Int64>, Set<Int64>) {
        var acknowledged = start
        var pending = start
        for line in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") {
            let words = line.split(separator: " ")
            if words == ["done"] {
                acknowledged = pending
                continue
            }
            pending = acknowledged
            let labels = words.dropFirst(2).compactMap { Int64($0) }
            switch words[1] {
            case "insert", "update": pending.formUnion(labels)
            case "remove": pending.subtract(labels)
            default: Issue.record("unexpected log line \(line)")
            }
        }
        return (acknowledged, pending)
    }

    /// Waits (at most a minute) until the worker has logged an acknowledged operation.
    private func waitForAcknowledgement(in log: URL, of worker: Process) throws {
        for _ in 0..<6000 {
            if try String(contentsOf: log, encoding: .utf8).split(separator: "\n").contains("done") { return }
            guard worker.isRunning else {
                Issue.record("the worker exited before acknowledging an operation")
                return
            }
            usleep(10_000)
        }
        Issue.record("the worker acknowledged no operation within a minute")
    }

    private func workerExecutable() throws -> URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("vector-index-crash-worker")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw CocoaError(
            .fileNoSuchFile, userInfo: [NSFilePathErrorKey: "vector-index-crash-worker near \(testBinary.path)"])
    }
}
