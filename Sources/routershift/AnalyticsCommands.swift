import ArgumentParser
import Foundation
import Proxy

/// The filters `stats` and `logs` share, named as the admin API's parameters.
struct AnalyticsFilterOptions: ParsableArguments {
    @Option(help: "Since: unix seconds, an ISO 8601 date or time, or a duration back from now (24h, 7d).")
    var from: String?
    @Option(help: "Until (exclusive), in the same forms as --from.") var to: String?
    @Option(help: "Only this key id (key_...; `master` for the master key).") var key: String?
    @Option(help: "Only this team.") var team: String?
    @Option(help: "Only this model group.") var model: String?
    @Option(help: "Only this deployment.") var deployment: String?
    @Option(help: "Only this endpoint (/v1/chat/completions, ...).") var endpoint: String?
    @Option(help: "Only this HTTP status.") var status: Int?
    @Flag(help: "Only requests that failed (status 400 and above).") var errors = false
    @Option(help: "Only this cache result: hit, semantic-hit, miss, bypass or refresh.") var cache: String?
    @Flag(help: "Print JSON Lines, as the admin API's objects.") var json = false

    var parameters: [String: String] {
        var parameters: [String: String] = [:]
        parameters["from"] = from
        parameters["to"] = to
        parameters["key"] = key
        parameters["team"] = team
        parameters["model"] = model
        parameters["deployment"] = deployment
        parameters["endpoint"] = endpoint
        parameters["status"] = status.map(String.init)
        parameters["errors"] = errors ? "true" : nil
        parameters["cache"] = cache
        return parameters
    }

    func query(adding extra: [String: String] = [:]) throws -> AnalyticsQuery {
        do {
            return try AnalyticsQuery(parameters: parameters.merging(extra) { $1 }, now: SystemClock().wallTime())
        } catch {
            // The API names its parameters; here they are options.
            let message = ["from", "to", "status", "errors", "cache", "group_by", "interval", "limit"].reduce(
                error.message
            ) {
                $0.replacingOccurrences(of: "`\($1)`", with: "--" + $1.replacingOccurrences(of: "_", with: "-"))
            }
            throw ValidationError(message)
        }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Traffic, cache hit rate, latency and spend from the request log (as /admin/stats and /admin/spend).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var filters: AnalyticsFilterOptions
    @Option(help: "Total spend by key, team, model or deployment.") var groupBy = "model"
    @Option(help: "Also split by hour or day.") var interval: String?

    func run() throws {
        let store = try options.openStore()
        var extra = ["group_by": groupBy]
        extra["interval"] = interval
        let query = try filters.query(adding: extra)
        let statistics = try store.statistics(matching: query.filter)
        let rows = try store.spend(matching: query.filter, groupBy: query.groupBy, interval: query.interval)
        if filters.json {
            print(JSONValue.object(AnalyticsJSON.statistics(statistics)).jsonString)
            for row in rows { print(JSONValue.object(AnalyticsJSON.spend(row)).jsonString) }
            return
        }
        func ms(_ value: Double?) -> String { value.map { String(format: "%.1f ms", $0) } ?? "-" }
        printTable(
            [
                "requests", "errors", "cache hit rate", "exact / semantic hits", "spent", "saved",
                "latency p50 / p90 / p99",
            ],
            [
                [
                    String(statistics.requests), String(statistics.errors),
                    String(format: "%.1f%%", statistics.hitRate * 100),
                    "\(statistics.exactHits) / \(statistics.semanticHits)", dollars(statistics.cost),
                    dollars(statistics.costSaved),
                    statistics.latency.map(ms).joined(separator: " / "),
                ]
            ])
        print()
        var header = [
            query.groupBy?.rawValue ?? "all", "requests", "errors", "input tokens", "output tokens", "spent",
            "saved", "cache hits",
        ]
        if query.interval != nil { header.insert("period (UTC)", at: 0) }
        printTable(
            header,
            rows.map { row in
                var cells = [
                    row.group ?? "-", String(row.requests), String(row.errors), String(row.inputTokens),
                    String(row.outputTokens), dollars(row.cost), dollars(row.costSaved), String(row.cacheHits),
                ]
                if let start = row.periodStart { cells.insert(timestamp(start), at: 0) }
                return cells
            })
    }
}

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Recent requests from the request log, newest first (as /admin/logs).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var filters: AnalyticsFilterOptions
    @Option(help: "At most this many rows (1-1000).") var limit = 50

    func run() throws {
        let store = try options.openStore()
        let query = try filters.query(adding: ["limit": String(limit)])
        let page = try store.requests(matching: query.filter, limit: query.limit, after: nil)
        if filters.json {
            for record in page.records { print(AnalyticsJSON.record(record).jsonString) }
            return
        }
        printTable(
            [
                "time (UTC)", "key", "endpoint", "model", "deployment", "status", "latency", "tokens in/out", "cost",
                "cache", "error",
            ],
            page.records.map { record in
                [
                    timestamp(record.time), record.keyID, record.endpoint, record.model, record.deployment ?? "-",
                    String(record.status), String(format: "%.1f ms", record.latencyMilliseconds),
                    "\(record.inputTokens)/\(record.outputTokens)", dollars(record.cost), record.cacheResult ?? "-",
                    record.errorType ?? "-",
                ]
            })
    }
}

private func dollars(_ amount: Double) -> String { String(format: "$%.6f", amount) }

private func timestamp(_ seconds: Double) -> String {
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date(timeIntervalSince1970: seconds))
}
