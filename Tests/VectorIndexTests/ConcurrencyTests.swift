import BenchmarkSupport
import Foundation
import Testing
import VectorIndex

/// Searches run while a writer inserts and removes; run under `swift test --sanitize=thread` in CI.
@Suite struct ConcurrencyTests {
    @Test func searchesProceedWhileAWriterMutates() async throws {
        let fixture = try Fixture(count: 2000, queries: 50, dimension: 32)
        let index = fixture.index
        var source = ClusteredVectors(dimension: 32, clusters: 20, noise: 0.12, seed: 11)
        let incoming = source.make(1500)
        let queries = fixture.queries

        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for (offset, vector) in incoming.enumerated() {
                    try index.insert(vector, label: Int64(10_000 + offset))
                    if offset % 3 == 0 { index.remove(Int64(offset)) }
                }
                return 0
            }
            for reader in 0..<4 {
                group.addTask {
                    var answered = 0
                    for round in 0..<150 {
                        let hits = try index.search(queries[(reader + round) % queries.count], k: 10)
                        if hits.count == 10
                            && zip(hits, hits.dropFirst()).allSatisfy({ $0.similarity >= $1.similarity })
                        {
                            answered += 1
                        }
                    }
                    return answered
                }
            }
            var answered = 0
            for try await count in group { answered += count }
            #expect(answered == 4 * 150)
        }
        #expect(index.count == 2000 + 1500 - 500)
    }

    @Test func persistentSearchesProceedWhileAWriterCommits() async throws {
        let file = try TemporaryDatabase()
        let index = try PersistentHNSWIndex(database: try file.open(), dimension: 16)
        var source = ClusteredVectors(dimension: 16, clusters: 10, noise: 0.2, seed: 5)
        let vectors = source.make(400)
        try index.insert(contentsOf: vectors.prefix(100).enumerated().map { (label: Int64($0), vector: $1) })

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for (offset, vector) in vectors.dropFirst(100).enumerated() {
                    try index.insert(vector, label: Int64(100 + offset))
                }
            }
            for reader in 0..<3 {
                group.addTask {
                    for round in 0..<200 {
                        let hits = try index.search(vectors[(reader * 31 + round) % 100], k: 5)
                        #expect(hits.count == 5)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(index.count == 400)
    }
}
