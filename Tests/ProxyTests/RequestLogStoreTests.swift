import Foundation
import Testing

@testable import Proxy

@Suite struct RequestLogStoreTests {
    private func withStore(_ body: (GatewayStore) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path))
    }

    private func record(
        _ id: String, at time: Double, key: String = "key_a", team: String? = nil, model: String = "m",
        status: Int = 200, latency: Double = 10, cost: Double = 0, cache: String? = nil, saved: Double = 0
    ) -> RequestRecord {
        var record = RequestRecord(
            id: id, time: time, keyID: key, team: team, endpoint: "/v1/chat/completions", model: model)
        record.status = status
        record.latencyMilliseconds = latency
        record.cost = cost
        record.cacheResult = cache
        record.costSaved = saved
        record.inputTokens = 10
        record.outputTokens = 20
        return record
    }

    @Test func pagesNewestFirstWithFilters() throws {
        try withStore { store in
            try store.appendRequests(
                (0..<25).map { record("r\($0)", at: Double($0), key: $0 % 2 == 0 ? "even" : "odd") })
            var filter = RequestLogFilter()
            filter.keyID = "even"
            let first = try store.requests(matching: filter, limit: 5, after: nil)
            #expect(first.records.map(\.id) == ["r24", "r22", "r20", "r18", "r16"])
            let second = try store.requests(matching: filter, limit: 5, after: first.next)
            #expect(second.records.map(\.id) == ["r14", "r12", "r10", "r8", "r6"])
            let last = try store.requests(matching: filter, limit: 5, after: second.next)
            #expect(last.records.map(\.id) == ["r4", "r2", "r0"] && last.next == nil)
            filter.from = 10
            filter.to = 14
            #expect(try store.requests(matching: filter, limit: 100, after: nil).records.map(\.id) == ["r12", "r10"])
            for cursor in ["garbage", "nan|r1", "inf|r1"] {
                #expect(throws: GatewayError.self) { try store.requests(matching: filter, limit: 5, after: cursor) }
            }
        }
    }

    @Test func totalsSpendByGroupAndPeriod() throws {
        try withStore { store in
            try store.appendRequests([
                record("a", at: 3600 * 1 + 5, key: "k1", team: "t", model: "gpt", cost: 1.0),
                record("b", at: 3600 * 1 + 50, key: "k2", team: "t", model: "gpt", cost: 2.0),
                record("c", at: 3600 * 2 + 5, key: "k1", model: "claude", cost: 0.5),
                record("d", at: 3600 * 2 + 6, key: "k1", model: "gpt", cache: "hit", saved: 1.5),
                record("e", at: 3600 * 2 + 7, key: "k2", model: "gpt", status: 502),
            ])
            let byModel = try store.spend(matching: RequestLogFilter(), groupBy: .model, interval: nil)
            #expect(byModel.map(\.group) == ["gpt", "claude"])
            #expect(byModel[0].requests == 4 && byModel[0].cost == 3.0 && byModel[0].costSaved == 1.5)
            #expect(byModel[0].cacheHits == 1 && byModel[0].errors == 1 && byModel[0].inputTokens == 40)
            let byKeyHour = try store.spend(matching: RequestLogFilter(), groupBy: .key, interval: .hour)
            #expect(
                byKeyHour.map { "\($0.periodStart!)/\($0.group!)/\($0.cost)" } == [
                    "3600.0/k2/2.0", "3600.0/k1/1.0", "7200.0/k1/0.5", "7200.0/k2/0.0",
                ])
            let byTeam = try store.spend(matching: RequestLogFilter(), groupBy: .team, interval: nil)
            #expect(byTeam.first { $0.group == "t" }?.cost == 3.0)
            let hourly = try store.spend(matching: RequestLogFilter(), groupBy: nil, interval: .hour)
            #expect(hourly.map(\.requests) == [2, 3] && hourly.allSatisfy { $0.group == nil })
        }
    }

    @Test func statisticsCountCacheAndPercentiles() throws {
        try withStore { store in
            var records = (1...100).map { record("r\($0)", at: Double($0), latency: Double($0), cost: 0.01) }
            records[0].cacheResult = "hit"
            records[1].cacheResult = "semantic-hit"
            records[2].cacheResult = "miss"
            records[3].cacheResult = "bypass"
            records.append(record("slow-error", at: 200, status: 500, latency: 10_000))
            try store.appendRequests(records)
            let statistics = try store.statistics(matching: RequestLogFilter())
            #expect(statistics.requests == 101 && statistics.errors == 1)
            #expect(statistics.exactHits == 1 && statistics.semanticHits == 1 && statistics.misses == 1)
            #expect(abs(statistics.hitRate - 2.0 / 3.0) < 1e-12)
            #expect(abs(statistics.cost - 1.0) < 1e-9)
            // Nearest rank over the 100 successful requests; the failed one is left out.
            #expect(statistics.latency == [50, 90, 99])
            #expect(statistics.timeToFirstToken == [nil, nil])
            var empty = RequestLogFilter()
            empty.model = "none"
            #expect(try store.statistics(matching: empty).latency == [nil, nil, nil])
        }
    }

    @Test func prunesByAgeAndByRowCount() throws {
        try withStore { store in
            try store.appendRequests((0..<5000).map { record("r\($0)", at: Double($0)) })
            #expect(try store.pruneRequests(before: 1000, maxRows: 1_000_000) == 1000)
            #expect(try store.pruneRequests(before: 0, maxRows: 2500) == 1500)
            let left = try store.requests(matching: RequestLogFilter(), limit: 1000, after: nil)
            #expect(left.records.first?.id == "r4999")
            #expect(try store.statistics(matching: RequestLogFilter()).requests == 2500)
            #expect(try store.pruneRequests(before: 0, maxRows: 2500) == 0)
        }
    }

    @Test func parsesQueryParameters() throws {
        let now = 1_800_000_000.0
        let query = try AnalyticsQuery(
            parameters: [
                "from": "24h", "to": "2027-01-15T00:00:00Z", "group_by": "team", "interval": "day", "errors": "true",
                "status": "429", "limit": "10",
            ], now: now)
        #expect(query.filter.from == now - 86400 && query.filter.to == 1_799_971_200)
        #expect(
            query.groupBy == .team && query.interval == .day && query.filter.errorsOnly && query.filter.status == 429)
        #expect(try AnalyticsQuery(parameters: ["from": "2026-11-25"], now: 1_795_600_800).filter.from == 1_795_564_800)
        for bad in [
            ["group_by": "user"], ["interval": "minute"], ["limit": "0"], ["from": "yesterday"], ["from": "nan"],
            ["to": "1e400"], ["colour": "red"],
        ] {
            #expect(throws: GatewayError.self) { try AnalyticsQuery(parameters: bad, now: 1_795_600_800) }
        }
    }
}
