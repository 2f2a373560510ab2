import Foundation
import RouterShiftConfiguration

/// The parameters of /admin/logs, /admin/spend and /admin/stats, which the CLI's `stats` and `logs`
/// commands pass the same way: filters (`from`, `to`, `key`, `team`, `model`, `deployment`, `endpoint`,
/// `status`, `errors`, `cache`), `group_by`, `interval`, and paging (`limit`, `after`).
public struct AnalyticsQuery: Sendable {
    public var filter = RequestLogFilter()
    public var groupBy: SpendGrouping?
    public var interval: SpendInterval?
    public var limit = 100
    public var after: String?

    static let names: Set<String> = [
        "from", "to", "key", "team", "model", "deployment", "endpoint", "status", "errors", "cache", "group_by",
        "interval", "limit", "after",
    ]
    static let maximumLimit = 1000

    public init(parameters: [String: String], now: Double) throws(GatewayError) {
        if let unknown = parameters.keys.sorted().first(where: { !Self.names.contains($0) }) {
            throw .invalid(
                "Unknown parameter `\(unknown)`; expected one of \(Self.names.sorted().joined(separator: ", ")).",
                param: unknown)
        }
        filter.from = try parameters["from"].map { value throws(GatewayError) in try Self.time(value, "from", now: now)
        }
        filter.to = try parameters["to"].map { value throws(GatewayError) in try Self.time(value, "to", now: now) }
        filter.keyID = parameters["key"]
        filter.team = parameters["team"]
        filter.model = parameters["model"]
        filter.deployment = parameters["deployment"]
        filter.endpoint = parameters["endpoint"]
        filter.cacheResult = parameters["cache"]
        if let status = parameters["status"] {
            guard let code = Int(status), (100...599).contains(code) else {
                throw .invalid("`status` must be an HTTP status such as 200 or 429.", param: "status")
            }
            filter.status = code
        }
        if let errors = parameters["errors"] {
            guard let flag = Bool(errors) else { throw .invalid("`errors` must be true or false.", param: "errors") }
            filter.errorsOnly = flag
        }
        if let name = parameters["group_by"] {
            guard let grouping = SpendGrouping(rawValue: name) else {
                throw .invalid("`group_by` must be key, team, model or deployment.", param: "group_by")
            }
            groupBy = grouping
        }
        if let name = parameters["interval"] {
            guard let interval = SpendInterval(rawValue: name) else {
                throw .invalid("`interval` must be hour or day.", param: "interval")
            }
            self.interval = interval
        }
        if let text = parameters["limit"] {
            guard let limit = Int(text), (1...Self.maximumLimit).contains(limit) else {
                throw .invalid("`limit` must be between 1 and \(Self.maximumLimit).", param: "limit")
            }
            self.limit = limit
        }
        after = parameters["after"]
        if let from = filter.from, let to = filter.to, from > to {
            throw .invalid("`from` is after `to`.", param: "from")
        }
    }

    /// Unix seconds, an ISO 8601 date or time (`2026-11-25`, `2026-11-25T08:00:00Z`), or a duration back
    /// from now (`90m`, `24h`, `7d`).
    static func time(_ text: String, _ name: String, now: Double) throws(GatewayError) -> Double {
        if let seconds = Double(text) {
            // Double() also reads "nan" and "1e400" (infinity), which would match nothing without a word.
            guard seconds.isFinite else { throw .invalid("`\(name)` must be a finite number of seconds.", param: name) }
            return seconds
        }
        if let duration = ConfigurationLoader.parseDuration(text) { return now - duration }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        formatter.formatOptions = [.withFullDate]
        if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        throw .invalid(
            "`\(name)` must be unix seconds, an ISO 8601 date or time (2026-11-25T08:00:00Z), or a duration back from now (24h).",
            param: name)
    }
}
