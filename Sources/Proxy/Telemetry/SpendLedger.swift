import Foundation
import RouterShiftConfiguration
import Synchronization

/// Spend per key and per team in the current period of each budget length, kept in memory so a budget
/// check costs no query: read from the request log when the gateway starts, then added to as each request
/// is recorded. A cache hit costs nothing and counts nothing.
final class SpendLedger: Sendable {
    private struct Totals {
        var start: Double
        var end: Double?
        var keys: [String: Double] = [:]
        var teams: [String: Double] = [:]
    }

    private let totals: Mutex<[BudgetPeriod: Totals]>
    /// The teams' budgets; a configuration reload replaces them (what each team spent stays).
    private let teams: Mutex<[String: GatewayConfiguration.Team]>
    /// Which period is current.
    private let clock: any GatewayClock

    init(store: GatewayStore, teams: [GatewayConfiguration.Team], clock: any GatewayClock = SystemClock()) throws {
        self.clock = clock
        let now = clock.wallTime()
        var totals: [BudgetPeriod: Totals] = [:]
        for period in BudgetPeriod.allCases {
            let start = period.start(containing: now)
            let spent = try store.spendByPrincipal(since: start)
            totals[period] = Totals(
                start: start, end: period.end(ofPeriodStarting: start), keys: spent.keys, teams: spent.teams)
        }
        self.totals = Mutex(totals)
        self.teams = Mutex(Self.byName(teams))
    }

    /// Puts new team budgets in force (a configuration reload).
    func replace(teams: [GatewayConfiguration.Team]) {
        let teams = Self.byName(teams)
        self.teams.withLock { $0 = teams }
    }

    private static func byName(_ teams: [GatewayConfiguration.Team]) -> [String: GatewayConfiguration.Team] {
        Dictionary(teams.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func record(_ record: RequestRecord) {
        guard record.cost > 0 else { return }
        totals.withLock { totals in
            for period in BudgetPeriod.allCases {
                Self.rollOver(&totals[period]!, period: period, now: record.time)
                guard record.time >= totals[period]!.start else { continue }
                totals[period]!.keys[record.keyID, default: 0] += record.cost
                if let team = record.team { totals[period]!.teams[team, default: 0] += record.cost }
            }
        }
    }

    /// Dollars the key has spent in the current `period`.
    func spent(keyID: String, period: BudgetPeriod) -> Double {
        let now = clock.wallTime()
        return totals.withLock { totals in
            Self.rollOver(&totals[period]!, period: period, now: now)
            return totals[period]!.keys[keyID] ?? 0
        }
    }

    /// Refuses a request whose key or team has spent its budget for the current period.
    func check(_ principal: Principal) throws(GatewayError) {
        guard case .key(let key) = principal else { return }
        let now = clock.wallTime()
        if let budget = key.budget {
            let period = key.budgetPeriod.flatMap(BudgetPeriod.init(rawValue:)) ?? .total
            try enforce(budget, period: period, owner: "Key `\(key.name)` (\(key.id))", now: now) { $0.keys[key.id] }
        }
        if let name = key.team, let team = teams.withLock({ $0[name] }) {
            try enforce(team.budget, period: team.budgetPeriod, owner: "Team `\(name)`", now: now) { $0.teams[name] }
        }
    }

    private func enforce(
        _ budget: Double, period: BudgetPeriod, owner: String, now: Double, spent: (Totals) -> Double?
    ) throws(GatewayError) {
        let (amount, end) = totals.withLock { totals in
            Self.rollOver(&totals[period]!, period: period, now: now)
            return (spent(totals[period]!) ?? 0, totals[period]!.end)
        }
        guard amount >= budget else { return }
        var message =
            "\(owner) has spent $\(Self.dollars(amount)) of its \(period.adjective) budget of $\(Self.dollars(budget))"
        var retryAfter: Int?
        if let end {
            let reset = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: end))
            message += "; the budget resets at \(reset)."
            retryAfter = max(1, Int((end - now).rounded(.up)))
        } else {
            message += "."
        }
        throw GatewayError(.budgetExceeded, message, code: "budget_exceeded", retryAfter: retryAfter)
    }

    private static func rollOver(_ totals: inout Totals, period: BudgetPeriod, now: Double) {
        guard let end = totals.end, now >= end else { return }
        let start = period.start(containing: now)
        totals = Totals(start: start, end: period.end(ofPeriodStarting: start))
    }

    private static func dollars(_ amount: Double) -> String { String(format: "%.4f", amount) }
}
