import Testing
import VectorIndex

@Suite struct FilteredSearchTests {
    /// The cache filters by tenant and model: most near neighbours of a query belong to other scopes.
    @Test(arguments: [1, 10, 50])
    func keepsRecallWhenTheFilterAdmitsFewVectors(percent: Int) throws {
        let fixture = try Fixture(count: 20_000, queries: 100)
        let filter = SearchFilter { $0 % 100 < Int64(percent) }
        let recallAt10 = try measuredRecall(fixture.index, queries: fixture.queries, k: 10, ef: 64, filter: filter)
        #expect(recallAt10 >= 0.95)
        for query in fixture.queries.prefix(10) {
            let hits = try fixture.index.search(query, k: 10, filter: filter)
            #expect(hits.count == 10)
            #expect(hits.allSatisfy { $0.label % 100 < Int64(percent) })
        }
    }

    /// With a large `expectedMatches` hint the graph walk serves the query even for a selective filter;
    /// it must still find admitted neighbours, by exact fallback if the walk comes up short.
    @Test func theGraphWalkHonoursTheFilter() throws {
        let fixture = try Fixture(count: 10_000, queries: 50)
        let filter = SearchFilter(expectedMatches: 10_000) { $0 % 10 == 3 }
        let recallAt10 = try measuredRecall(fixture.index, queries: fixture.queries, k: 10, ef: 128, filter: filter)
        #expect(recallAt10 >= 0.95)
    }

    @Test func aFilterNothingPassesReturnsNothing() throws {
        let fixture = try Fixture(count: 2000, queries: 5)
        #expect(try fixture.index.search(fixture.queries[0], k: 10, filter: SearchFilter { _ in false }).isEmpty)
        let unlikely = SearchFilter(expectedMatches: 2000) { _ in false }
        #expect(try fixture.index.search(fixture.queries[0], k: 10, filter: unlikely).isEmpty)
    }

    @Test func removedVectorsStayOutOfFilteredResults() throws {
        let fixture = try Fixture(count: 5000, queries: 20)
        for label in stride(from: 0, to: 5000, by: 2) { fixture.index.remove(Int64(label)) }
        let filter = SearchFilter { $0 % 4 < 2 }
        for query in fixture.queries {
            let hits = try fixture.index.search(query, k: 10, filter: filter)
            #expect(hits.count == 10)
            #expect(hits.allSatisfy { $0.label % 2 == 1 && $0.label % 4 < 2 })
        }
    }
}
