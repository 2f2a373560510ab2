import Foundation
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

@Suite struct SpendLedgerTests {
    // 2026-11-25T10:00:00Z, a Wednesday.
    let now = 1_795_600_800.0

    @Test func periodsStartOnUTCBoundaries() {
        #expect(BudgetPeriod.day.start(containing: now) == 1_795_564_800)  // 2026-11-25
        #expect(BudgetPeriod.week.start(containing: now) == 1_795_392_000)  // Monday 2026-11-23
        #expect(BudgetPeriod.month.start(containing: now) == 1_793_491_200)  // 2026-11-01
        #expect(BudgetPeriod.month.end(ofPeriodStarting: 1_793_491_200) == 1_796_083_200)  // 2026-12-01
        #expect(BudgetPeriod.total.end(ofPeriodStarting: 0) == nil)
    }

    private func key(budget: Double?, period: String?, team: String? = nil) -> VirtualKey {
        VirtualKey(
            id: "key_1", name: "ci", hash: "", prefix: "", team: team, allowedModels: nil, rpm: nil, tpm: nil,
            maxParallel: nil, budget: budget, budgetPeriod: period, createdAt: 0, revokedAt: nil)
    }

    private func spent(_ cost: Double, at time: Double, key: String = "key_1", team: String? = nil) -> RequestRecord {
        var record = RequestRecord(time: time, keyID: key, team: team, endpoint: "/v1/chat/completions", model: "m")
        record.cost = cost
        return record
    }

    /// A ledger over `log` whose clock starts at ``now`` and is moved by hand.
    private func withLedger(
        log: [RequestRecord] = [], teams: [GatewayConfiguration.Team] = [],
        _ body: (SpendLedger, ManualClock) throws -> Void
    ) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        try store.appendRequests(log)
        let clock = ManualClock(wallStart: now)
        try body(try SpendLedger(store: store, teams: teams, clock: clock), clock)
    }

    @Test func refusesAKeyOverItsDailyBudgetUntilTheDayEnds() throws {
        // Yesterday's spend does not count; today's, read back from the log, does.
        try withLedger(log: [spent(5, at: now - 86400), spent(0.6, at: now - 60)]) { ledger, clock in
            let principal = Principal.key(key(budget: 1, period: "day"))
            try ledger.check(principal)
            ledger.record(spent(0.4, at: now))
            #expect(ledger.spent(keyID: "key_1", period: .day) == 1.0)
            do {
                try ledger.check(principal)
                Issue.record("a spent budget was let through")
            } catch let error as GatewayError {
                #expect(error.kind == .budgetExceeded && error.code == "budget_exceeded")
                #expect(error.retryAfter == 50400 && error.message.contains("2026-11-26T00:00:00Z"))
            }
            try ledger.check(.master)
            clock.advance(50400)
            try ledger.check(principal)
        }
    }

    @Test func cacheHitsCostNothingAndTotalBudgetsNeverReset() throws {
        try withLedger { ledger, clock in
            let principal = Principal.key(key(budget: 2, period: nil))
            var hit = spent(0, at: now)
            hit.costSaved = 10
            ledger.record(hit)
            try ledger.check(principal)
            ledger.record(spent(2, at: now))
            clock.advance(400 * 86400)
            #expect(throws: GatewayError.self) { try ledger.check(principal) }
        }
    }

    @Test func teamBudgetsCoverEveryKeyOfTheTeam() throws {
        let team = GatewayConfiguration.Team(name: "research", budget: 3, budgetPeriod: .month)
        try withLedger(log: [spent(2, at: now - 86400, key: "key_other", team: "research")], teams: [team]) {
            ledger, clock in
            let principal = Principal.key(key(budget: nil, period: nil, team: "research"))
            try ledger.check(principal)
            ledger.record(spent(1, at: now, team: "research"))
            #expect(throws: GatewayError.self) { try ledger.check(principal) }
            // A new month.
            clock.advance(1_796_083_200 - now)
            try ledger.check(principal)
        }
    }
}
