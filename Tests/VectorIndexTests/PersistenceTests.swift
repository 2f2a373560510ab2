import BenchmarkSupport
import GRDB
import Testing
import VectorIndex

@Suite struct PersistenceTests {
    @Test func reopensWithTheSameMembersAndTheSameAnswers() throws {
        let file = try TemporaryDatabase()
        var source = ClusteredVectors(dimension: 32, clusters: 20, noise: 0.1, seed: 3)
        let vectors = source.make(1500)
        let queries = source.make(30)
        var before: [[SearchResult]] = []
        do {
            let index = try PersistentHNSWIndex(database: try file.open(), name: "prompts", dimension: 32)
            try index.insert(contentsOf: vectors.enumerated().map { (label: Int64($0), vector: $1) })
            for label in stride(from: 0, to: 1500, by: 5) { try index.remove(Int64(label)) }
            try index.insert(vectors[0], label: 5000)
            before = try queries.map { try index.search($0, k: 10) }
        }
        let reopened = try PersistentHNSWIndex(database: try file.open(), name: "prompts", dimension: 32)
        #expect(reopened.count == 1500 - 300 + 1)
        #expect(!reopened.contains(0) && reopened.contains(1) && reopened.contains(5000))
        #expect(try queries.map { try reopened.search($0, k: 10) } == before)
    }

    @Test func savesAnInMemoryIndexWhole() throws {
        let file = try TemporaryDatabase()
        let fixture = try Fixture(count: 2000, queries: 20, dimension: 48)
        fixture.index.remove(3)
        let before = try fixture.queries.map { try fixture.index.search($0, k: 10) }
        _ = try PersistentHNSWIndex.save(fixture.index, to: try file.open(), name: "bulk")
        let reopened = try PersistentHNSWIndex(database: try file.open(), name: "bulk", dimension: 48)
        #expect(reopened.count == 1999)
        #expect(try fixture.queries.map { try reopened.search($0, k: 10) } == before)
    }

    @Test func aRolledBackTransactionLeavesNoTraceInMemory() throws {
        let file = try TemporaryDatabase()
        let database = try file.open()
        let index = try PersistentHNSWIndex(database: database, dimension: 8)
        try index.insert([1, 0, 0, 0, 0, 0, 0, 0], label: 1)
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try database.write { db in
                try index.insert([0, 1, 0, 0, 0, 0, 0, 0], label: 2, in: db)
                try index.remove(1, in: db)
                #expect(index.contains(2) && !index.contains(1))
                throw Abort()
            }
        }
        // The next write reloads the graph before it changes anything.
        try index.insert([0, 0, 1, 0, 0, 0, 0, 0], label: 3)
        #expect(index.contains(1) && !index.contains(2) && index.contains(3))
        #expect(try index.search([0, 1, 0, 0, 0, 0, 0, 0], k: 5).map(\.label).sorted() == [1, 3])
        let reopened = try PersistentHNSWIndex(database: database, dimension: 8)
        #expect(Set(reopened.labels) == [1, 3])
    }

    @Test func reloadRestoresTheCommittedStateAfterARollback() throws {
        let file = try TemporaryDatabase()
        let database = try file.open()
        let index = try PersistentHNSWIndex(database: database, dimension: 4)
        try index.insert([1, 0, 0, 0], label: 1)
        try? database.write { db in
            try index.remove(1, in: db)
            throw CancellationError()
        }
        try index.reload()
        #expect(index.labels == [1])
    }

    @Test func joinsTheCallersTransaction() throws {
        let file = try TemporaryDatabase()
        let database = try file.open()
        let index = try PersistentHNSWIndex(database: database, dimension: 4)
        try database.write { db in
            try db.execute(sql: "CREATE TABLE entry (id INTEGER PRIMARY KEY, prompt TEXT)")
            try db.execute(sql: "INSERT INTO entry (prompt) VALUES ('hello')")
            try index.insert([1, 2, 3, 4], label: db.lastInsertedRowID, in: db)
        }
        let reopened = try PersistentHNSWIndex(database: try file.open(), dimension: 4)
        let id = try database.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM entry") }
        #expect(reopened.labels == [try #require(id)])
    }

    @Test func refusesAStoredIndexOfAnotherShape() throws {
        let file = try TemporaryDatabase()
        let database = try file.open()
        _ = try PersistentHNSWIndex(database: database, name: "a", dimension: 16)
        #expect(throws: VectorIndexError.dimensionMismatch(expected: 16, actual: 32)) {
            try PersistentHNSWIndex(database: database, name: "a", dimension: 32)
        }
        #expect(throws: VectorIndexError.self) {
            try PersistentHNSWIndex(database: database, name: "a", dimension: 16, parameters: .init(m: 8))
        }
        #expect(throws: VectorIndexError.self) {
            try PersistentHNSWIndex(database: database, name: "no spaces", dimension: 4)
        }
    }

    @Test func detectsCorruptRows() throws {
        let file = try TemporaryDatabase()
        let database = try file.open()
        let index = try PersistentHNSWIndex(database: database, name: "c", dimension: 4)
        for label in 0..<50 { try index.insert([Float(label), 1, 2, 3], label: Int64(label)) }
        try database.write { db in
            try db.execute(sql: "UPDATE vector_index_c SET links = x'05000000' WHERE slot = 3")
        }
        #expect(throws: VectorIndexError.self) { try PersistentHNSWIndex(database: database, name: "c", dimension: 4) }
    }
}
