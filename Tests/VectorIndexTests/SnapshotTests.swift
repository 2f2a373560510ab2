import BenchmarkSupport
import Foundation
import GRDB
import Testing

@testable import VectorIndex

/// The graph's snapshot file: read at opening only while it holds the stored index's present state,
/// whoever changed the rows since; otherwise the rows are read, and nothing it holds is trusted unchecked.
@Suite struct SnapshotTests {
    /// An index of 600 clustered vectors with some removed, snapshotted, and 20 queries of it.
    static func snapshotted(_ file: TemporaryDatabase) throws -> (queries: [[Float]], answers: [[SearchResult]]) {
        var source = ClusteredVectors(dimension: 24, clusters: 12, noise: 0.1, seed: 9)
        let index = try PersistentHNSWIndex(database: try file.open(), name: "prompts", dimension: 24)
        try index.insert(contentsOf: source.make(600).enumerated().map { (label: Int64($0), vector: $1) })
        for label in stride(from: 0, to: 600, by: 7) { try index.remove(Int64(label)) }
        #expect(try index.saveSnapshot())
        #expect(try !index.saveSnapshot(), "nothing changed since the snapshot")
        let queries = source.make(20)
        return (queries, try queries.map { try index.search($0, k: 10) })
    }

    @Test func anUnchangedIndexOpensFromItsSnapshotWithTheSameAnswers() throws {
        let file = try TemporaryDatabase()
        let (queries, answers) = try Self.snapshotted(file)
        let reopened = try PersistentHNSWIndex(database: try file.open(), name: "prompts", dimension: 24)
        #expect(reopened.openedFromSnapshot)
        #expect(reopened.count == 600 - 86)
        #expect(try queries.map { try reopened.search($0, k: 10) } == answers)
        // A tombstone's slot is reused after a snapshot opening as after reading the rows.
        try reopened.insert(queries[0], label: 9000)
        #expect(reopened.contains(9000) && !reopened.contains(7))
    }

    @Test func aChangeAfterTheSnapshotMakesTheOpeningReadTheRows() throws {
        let file = try TemporaryDatabase()
        let (queries, _) = try Self.snapshotted(file)
        do {
            let index = try PersistentHNSWIndex(database: try file.open(), name: "prompts", dimension: 24)
            try index.insert(queries[1], label: 7001)
        }
        let reopened = try PersistentHNSWIndex(database: try file.open(), name: "prompts", dimension: 24)
        #expect(!reopened.openedFromSnapshot)
        #expect(reopened.contains(7001))
    }

    @Test func aWriteBySQLAloneAsAnEarlierVersionWritesAdvancesTheGeneration() throws {
        let file = try TemporaryDatabase()
        _ = try Self.snapshotted(file)
        // What an earlier version's insert writes: the metadata row's entry point and top level, by upsert.
        try file.open().write { db in
            try db.execute(
                sql: """
                    INSERT INTO vector_index (name, dimension, m, ef_construction, ef_search, seed, entry_point, max_level)
                    SELECT name, dimension, m, ef_construction, ef_search, seed, entry_point, max_level
                    FROM vector_index WHERE name = 'prompts'
                    ON CONFLICT(name) DO UPDATE SET entry_point = excluded.entry_point, max_level = excluded.max_level
                    """)
        }
        let reopened = try PersistentHNSWIndex(database: try file.open(), name: "prompts", dimension: 24)
        #expect(!reopened.openedFromSnapshot)
    }

    @Test func anotherIndexOfTheSameNameDoesNotTakeTheSnapshot() throws {
        let file = try TemporaryDatabase()
        _ = try Self.snapshotted(file)
        let snapshot = file.path + ".index-prompts"
        let kept = try Data(contentsOf: URL(fileURLWithPath: snapshot))
        try file.open().write { db in try VectorIndexStore(name: "prompts").drop(db) }
        // The same vectors again, so the new index has the same size, entry point and generation.
        _ = try Self.snapshotted(file)
        try kept.write(to: URL(fileURLWithPath: snapshot))
        let reopened = try PersistentHNSWIndex(database: try file.open(), name: "prompts", dimension: 24)
        #expect(!reopened.openedFromSnapshot, "the incarnation tells the two indexes apart")
    }

    @Test func aDamagedSnapshotIsRemovedAndTheRowsAreRead() throws {
        let file = try TemporaryDatabase()
        let (queries, answers) = try Self.snapshotted(file)
        let snapshot = URL(fileURLWithPath: file.path + ".index-prompts")
        let original = try Data(contentsOf: snapshot)
        // The level-0 link count of slot 0, beyond what any list holds (after the header of 9 words, the
        // labels, levels and flags, and the vectors, padded to 32 floats).
        let level0 = 72 + 600 * (8 + 1 + 1) + 600 * 32 * 4
        var damaged = original
        damaged.replaceSubrange(level0..<level0 + 4, with: withUnsafeBytes(of: UInt32(1000)) { Data($0) })
        for bytes in [damaged, original.dropLast(10), original + Data([0])] {
            try bytes.write(to: snapshot)
            let reopened = try PersistentHNSWIndex(database: try file.open(), name: "prompts", dimension: 24)
            #expect(!reopened.openedFromSnapshot)
            #expect(!FileManager.default.fileExists(atPath: snapshot.path))
            #expect(try queries.map { try reopened.search($0, k: 10) } == answers)
        }
    }

    @Test func anIndexInMemoryHasNoSnapshot() throws {
        let index = try PersistentHNSWIndex(database: try DatabaseQueue(), dimension: 4)
        try index.insert([1, 0, 0, 0], label: 1)
        #expect(try !index.saveSnapshot())
    }
}
