import BenchmarkSupport
import Testing

@testable import VectorIndex

@Suite struct HNSWIndexTests {
    @Test func findsTheTrueNeighboursOfHeldOutQueries() throws {
        let fixture = try Fixture(count: 5000)
        #expect(fixture.index.count == 5000)
        #expect(try measuredRecall(fixture.index, queries: fixture.queries, ef: 100) >= 0.95)
    }

    @Test func exactSearchAgreesWithFlatIndex() throws {
        let fixture = try Fixture(count: 2000, queries: 20)
        var flat = FlatIndex(dimension: 48)
        for (label, vector) in fixture.vectors.enumerated() { try flat.add(vector, label: Int64(label)) }
        let batch = try flat.search(batch: fixture.queries, k: 10)
        for (query, batched) in zip(fixture.queries, batch) {
            let single = try flat.search(query, k: 10)
            let graphExact = try fixture.index.exactSearch(query, k: 10)
            #expect(single.map(\.label) == batched.map(\.label))
            #expect(graphExact.map(\.label) == single.map(\.label))
            for (a, b) in zip(single, graphExact) { #expect(abs(a.similarity - b.similarity) < 1e-5) }
        }
    }

    @Test func aVectorFindsItselfFirstWithSimilarityOne() throws {
        let fixture = try Fixture(count: 1000)
        for label in [0, 17, 999] {
            let hit = try #require(try fixture.index.search(fixture.vectors[label], k: 1).first)
            #expect(hit.label == Int64(label))
            #expect(abs(hit.similarity - 1) < 1e-5)
        }
    }

    @Test func resultsComeMostSimilarFirstAndAtMostK() throws {
        let fixture = try Fixture(count: 500)
        let hits = try fixture.index.search(fixture.queries[0], k: 7)
        #expect(hits.count == 7)
        #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.similarity >= $1.similarity })
        #expect(try fixture.index.search(fixture.queries[0], k: 0).isEmpty)
    }

    @Test func aRemovedVectorIsNeverReturnedAndItsSlotIsReused() throws {
        let fixture = try Fixture(count: 3000)
        let index = fixture.index
        let removed = Set((0..<3000).filter { $0 % 3 == 0 }.map(Int64.init))
        for label in removed { #expect(index.remove(label)) }
        #expect(!index.remove(0))
        #expect(index.count == 2000)
        for query in fixture.queries {
            let hits = try index.search(query, k: 10, ef: 200)
            #expect(hits.allSatisfy { !removed.contains($0.label) })
        }
        for label in removed { #expect(try index.search(fixture.vectors[Int(label)], k: 1).first?.label != label) }
        // Re-inserting as many new vectors fills the tombstones instead of growing the graph.
        var source = ClusteredVectors(dimension: 48, clusters: 30, noise: 0.12, seed: 99)
        for label in 10_000..<11_000 { try index.insert(source.next().vector, label: Int64(label)) }
        #expect(index.count == 3000)
        #expect(index.graph.storage.slotCount == 3000)
        // The graph stays navigable after the churn.
        #expect(try measuredRecall(index, queries: fixture.queries, ef: 100) >= 0.95)
    }

    @Test func updatingALabelMovesItsVector() throws {
        let fixture = try Fixture(count: 2000)
        let index = fixture.index
        try index.insert(fixture.vectors[5], label: 1)
        #expect(index.count == 2000)
        let hits = try index.search(fixture.vectors[5], k: 2)
        #expect(Set(hits.map(\.label)) == [1, 5])
        #expect(try measuredRecall(index, queries: fixture.queries, ef: 100) >= 0.95)
    }

    @Test func removingEverythingLeavesAnEmptyButUsableIndex() throws {
        let fixture = try Fixture(count: 300)
        for label in 0..<300 { fixture.index.remove(Int64(label)) }
        #expect(fixture.index.count == 0)
        #expect(try fixture.index.search(fixture.queries[0], k: 5).isEmpty)
        try fixture.index.insert(fixture.queries[1], label: 7)
        #expect(try fixture.index.search(fixture.queries[1], k: 5).map(\.label) == [7])
    }

    @Test func rejectsVectorsWithoutADirectionOrOfTheWrongLength() throws {
        let index = try HNSWIndex(dimension: 4)
        #expect(throws: VectorIndexError.dimensionMismatch(expected: 4, actual: 3)) {
            try index.insert([1, 2, 3], label: 1)
        }
        #expect(throws: VectorIndexError.self) { try index.insert([0, 0, 0, 0], label: 1) }
        #expect(throws: VectorIndexError.self) { try index.insert([1, .nan, 0, 0], label: 1) }
        #expect(throws: VectorIndexError.self) { try index.search([1, 0, 0, .infinity], k: 1) }
        #expect(index.count == 0)
        #expect(throws: VectorIndexError.self) { try HNSWIndex(dimension: 0) }
        #expect(throws: VectorIndexError.self) { try HNSWIndex(dimension: 8, parameters: .init(m: 1)) }
    }

    @Test func normalisesVectorsOnTheWayIn() throws {
        let index = try HNSWIndex(dimension: 2)
        try index.insert([3, 4], label: 1)
        let stored = try #require(index.vector(for: 1))
        #expect(abs(stored[0] - 0.6) < 1e-6 && abs(stored[1] - 0.8) < 1e-6)
        #expect(abs(try index.search([30, 40], k: 1)[0].similarity - 1) < 1e-6)
    }
}
