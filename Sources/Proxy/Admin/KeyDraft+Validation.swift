import RouterShiftConfiguration

extension KeyDraft {
    /// Refuses a draft the gateway could not enforce: a team `configuration` lacks, a limit below 1, a
    /// budget out of range or an unknown budget period. The admin API and `routershift keys create` both
    /// check through here, so neither accepts what the other refuses.
    public func validate(against configuration: GatewayConfiguration) throws(GatewayError) {
        if let team, !configuration.teams.contains(where: { $0.name == team }) {
            let known = configuration.teams.map { "`\($0.name)`" }.joined(separator: ", ")
            throw .invalid(
                "No team named `\(team)` is configured"
                    + (known.isEmpty ? " (the configuration has no `teams`)." : "; configured teams: \(known)."),
                param: "team")
        }
        for (param, limit) in [("rpm", rpm), ("tpm", tpm), ("max_parallel", maxParallel)] {
            if let limit, limit < 1 { throw .invalid("`\(param)` must be at least 1.", param: param) }
        }
        if let budget, !(0...1e12).contains(budget) {
            throw .invalid("`budget` must be between 0 and 1e12.", param: "budget")
        }
        if let budgetPeriod, BudgetPeriod(rawValue: budgetPeriod) == nil {
            throw .invalid("`budget_period` must be day, week, month or total.", param: "budget_period")
        }
    }
}
