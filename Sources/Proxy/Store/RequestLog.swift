import Foundation
import GRDB

extension RequestRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "request_log"

    static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-request-log") { db in
            try db.create(table: databaseTableName) { table in
                table.primaryKey("id", .text)
                table.column("time", .double).notNull()
                table.column("key_id", .text).notNull()
                table.column("team", .text)
                table.column("endpoint", .text).notNull()
                table.column("model", .text).notNull()
                table.column("deployment", .text)
                table.column("provider", .text)
                table.column("status", .integer).notNull()
                table.column("latency_ms", .double).notNull()
                table.column("ttft_ms", .double)
                table.column("input_tokens", .integer).notNull()
                table.column("output_tokens", .integer).notNull()
                table.column("cost", .double).notNull()
                table.column("cache_result", .text)
                table.column("cache_similarity", .double)
                table.column("cost_saved", .double).notNull()
                table.column("tokens_saved", .integer).notNull()
                table.column("retries", .integer).notNull()
                table.column("error_type", .text)
            }
            try db.create(index: "request_log_time", on: databaseTableName, columns: ["time"])
            try db.create(index: "request_log_key_time", on: databaseTableName, columns: ["key_id", "time"])
            try db.create(index: "request_log_team_time", on: databaseTableName, columns: ["team", "time"])
        }
        migrator.registerMigration("v7-request-log-request-id") { db in
            try db.alter(table: databaseTableName) { table in table.add(column: "request_id", .text) }
            try db.create(index: "request_log_request_id", on: databaseTableName, columns: ["request_id"])
        }
        migrator.registerMigration("v9-request-log-trace-id") { db in
            try db.alter(table: databaseTableName) { table in table.add(column: "trace_id", .text) }
        }
    }
}

/// Which request-log rows a query reads; every field narrows it.
public struct RequestLogFilter: Sendable, Equatable {
    /// Unix seconds, inclusive.
    public var from: Double?
    /// Unix seconds, exclusive.
    public var to: Double?
    public var keyID: String?
    public var team: String?
    public var model: String?
    public var deployment: String?
    public var endpoint: String?
    public var status: Int?
    /// Only requests answered with an error (status 400 and above).
    public var errorsOnly = false
    public var cacheResult: String?

    public init() {}

    /// The SQL condition and its arguments.
    var condition: (sql: String, arguments: StatementArguments) {
        var clauses = ["1"]
        var arguments = StatementArguments()
        func add(_ clause: String, _ value: (any DatabaseValueConvertible)?) {
            guard let value else { return }
            clauses.append(clause)
            arguments += [value]
        }
        add("time >= ?", from)
        add("time < ?", to)
        add("key_id = ?", keyID)
        add("team = ?", team)
        add("model = ?", model)
        add("deployment = ?", deployment)
        add("endpoint = ?", endpoint)
        add("status = ?", status)
        add("cache_result = ?", cacheResult)
        if errorsOnly { clauses.append("status >= 400") }
        return (clauses.joined(separator: " AND "), arguments)
    }
}

/// What spend is totalled by.
public enum SpendGrouping: String, Sendable, CaseIterable {
    case key, team, model, deployment

    var column: String {
        switch self {
        case .key: "key_id"
        case .team: "team"
        case .model: "model"
        case .deployment: "deployment"
        }
    }
}

/// The width of a spend period, aligned on UTC hours or days.
public enum SpendInterval: String, Sendable, CaseIterable {
    case hour, day

    public var seconds: Double { self == .hour ? 3600 : 86400 }
}

/// Requests, tokens and dollars of one group in one period.
public struct SpendRow: Sendable, Equatable {
    /// The key id, team, model or deployment; nil when not grouped (or for requests without one).
    public var group: String?
    /// Unix seconds at the period's start; nil without an interval.
    public var periodStart: Double?
    public var requests: Int
    public var errors: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: Double
    public var costSaved: Double
    public var tokensSaved: Int
    /// Exact and semantic cache hits.
    public var cacheHits: Int
}

/// Totals and percentiles over a window of the log.
public struct RequestStatistics: Sendable, Equatable {
    public var requests = 0
    public var errors = 0
    public var exactHits = 0
    public var semanticHits = 0
    /// Cache lookups that went upstream ("miss" and "refresh").
    public var misses = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var tokensSaved = 0
    public var cost = 0.0
    public var costSaved = 0.0
    /// Latency percentiles (50, 90, 99) of the requests that succeeded; nil without any.
    public var latency: [Double?] = [nil, nil, nil]
    /// Time-to-first-token percentiles (50, 99) of streamed requests that succeeded.
    public var timeToFirstToken: [Double?] = [nil, nil]

    /// Hits over cache lookups; bypassed requests and endpoints without a cache do not count.
    public var hitRate: Double {
        let lookups = exactHits + semanticHits + misses
        return lookups == 0 ? 0 : Double(exactHits + semanticHits) / Double(lookups)
    }
}

/// A page of the log, newest first, and where the next one starts.
public struct RequestLogPage: Sendable {
    public var records: [RequestRecord]
    /// Pass as `after` for the next page; nil on the last.
    public var next: String?
}

/// The request log: appended in batches, queried for analytics, pruned by age and size.
public protocol RequestLogStore: Sendable {
    func appendRequests(_ records: [RequestRecord]) throws
    /// Deletes rows older than `before` and the oldest beyond `maxRows`, in small transactions so writers
    /// are never held up long. Returns the number deleted.
    func pruneRequests(before: Double, maxRows: Int) throws -> Int
    func requests(matching filter: RequestLogFilter, limit: Int, after cursor: String?) throws -> RequestLogPage
    func spend(matching filter: RequestLogFilter, groupBy: SpendGrouping?, interval: SpendInterval?) throws
        -> [SpendRow]
    func statistics(matching filter: RequestLogFilter) throws -> RequestStatistics
}

extension GatewayStore: RequestLogStore {
    static let pruneChunk = 2000

    public func appendRequests(_ records: [RequestRecord]) throws {
        guard !records.isEmpty else { return }
        try database.write { db in
            for record in records { try record.insert(db, onConflict: .ignore) }
        }
    }

    public func pruneRequests(before: Double, maxRows: Int) throws -> Int {
        let cutoff = try database.read { db in
            try Double.fetchOne(
                db, sql: "SELECT time FROM request_log ORDER BY time DESC LIMIT 1 OFFSET ?", arguments: [maxRows])
        }
        let limit = max(before, cutoff.map { $0.nextUp } ?? -Double.infinity)
        var deleted = 0
        while true {
            let count = try database.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM request_log WHERE rowid IN
                        (SELECT rowid FROM request_log WHERE time < ? ORDER BY time LIMIT ?)
                        """, arguments: [limit, Self.pruneChunk])
                return db.changesCount
            }
            deleted += count
            if count < Self.pruneChunk { return deleted }
        }
    }

    public func requests(matching filter: RequestLogFilter, limit: Int, after cursor: String?) throws
        -> RequestLogPage
    {
        var (condition, arguments) = filter.condition
        if let cursor {
            let parts = cursor.split(separator: "|", maxSplits: 1)
            guard parts.count == 2, let time = Double(parts[0]), time.isFinite else {
                throw GatewayError.invalid("`after` is not a cursor this API returned.", param: "after")
            }
            condition += " AND (time < ? OR (time = ? AND id < ?))"
            arguments += [time, time, String(parts[1])]
        }
        let records = try database.read { db in
            try RequestRecord.fetchAll(
                db, sql: "SELECT * FROM request_log WHERE \(condition) ORDER BY time DESC, id DESC LIMIT ?",
                arguments: arguments + [limit + 1])
        }
        let page = Array(records.prefix(limit))
        let next = records.count > limit ? page.last.map { "\($0.time)|\($0.id)" } : nil
        return RequestLogPage(records: page, next: next)
    }

    public func spend(matching filter: RequestLogFilter, groupBy: SpendGrouping?, interval: SpendInterval?) throws
        -> [SpendRow]
    {
        let (condition, arguments) = filter.condition
        let group = groupBy?.column ?? "NULL"
        let period = interval.map { "CAST(time / \(Int($0.seconds)) AS INTEGER) * \(Int($0.seconds))" } ?? "NULL"
        let sql = """
            SELECT \(group) AS grp, \(period) AS period, COUNT(*), SUM(status >= 400), SUM(input_tokens),
                   SUM(output_tokens), SUM(cost), SUM(cost_saved), SUM(tokens_saved),
                   COUNT(CASE WHEN cache_result IN ('hit', 'semantic-hit') THEN 1 END)
            FROM request_log WHERE \(condition) GROUP BY grp, period ORDER BY period, SUM(cost) DESC, grp
            """
        return try database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                SpendRow(
                    group: row[0], periodStart: (row[1] as Int64?).map(Double.init), requests: row[2], errors: row[3],
                    inputTokens: row[4], outputTokens: row[5], cost: row[6], costSaved: row[7], tokensSaved: row[8],
                    cacheHits: row[9])
            }
        }
    }

    public func statistics(matching filter: RequestLogFilter) throws -> RequestStatistics {
        let (condition, arguments) = filter.condition
        return try database.read { db in
            var statistics = RequestStatistics()
            let totals = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*), COALESCE(SUM(status >= 400), 0), COALESCE(SUM(cache_result = 'hit'), 0),
                           COALESCE(SUM(cache_result = 'semantic-hit'), 0),
                           COALESCE(SUM(cache_result IN ('miss', 'refresh')), 0), COALESCE(SUM(input_tokens), 0),
                           COALESCE(SUM(output_tokens), 0), COALESCE(SUM(tokens_saved), 0), COALESCE(SUM(cost), 0),
                           COALESCE(SUM(cost_saved), 0)
                    FROM request_log WHERE \(condition)
                    """, arguments: arguments)!
            statistics.requests = totals[0]
            statistics.errors = totals[1]
            statistics.exactHits = totals[2]
            statistics.semanticHits = totals[3]
            statistics.misses = totals[4]
            statistics.inputTokens = totals[5]
            statistics.outputTokens = totals[6]
            statistics.tokensSaved = totals[7]
            statistics.cost = totals[8]
            statistics.costSaved = totals[9]
            let succeeded = condition + " AND status < 400"
            statistics.latency = try Self.percentiles(
                of: "latency_ms", where: succeeded, arguments: arguments, [0.5, 0.9, 0.99], db)
            statistics.timeToFirstToken = try Self.percentiles(
                of: "ttft_ms", where: succeeded + " AND ttft_ms IS NOT NULL", arguments: arguments, [0.5, 0.99], db)
            return statistics
        }
    }

    /// Nearest-rank percentiles of a column over the rows a condition selects.
    private static func percentiles(
        of column: String, where condition: String, arguments: StatementArguments, _ fractions: [Double], _ db: Database
    ) throws -> [Double?] {
        let count = try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM request_log WHERE \(condition)", arguments: arguments)!
        guard count > 0 else { return fractions.map { _ in nil } }
        return try fractions.map { fraction in
            let rank = max(Int((fraction * Double(count)).rounded(.up)) - 1, 0)
            return try Double.fetchOne(
                db, sql: "SELECT \(column) FROM request_log WHERE \(condition) ORDER BY \(column) LIMIT 1 OFFSET ?",
                arguments: arguments + [rank])
        }
    }

    /// Dollars spent since `since`, per key and per team, for budgets.
    func spendByPrincipal(since: Double) throws -> (keys: [String: Double], teams: [String: Double]) {
        try database.read { db in
            let keys = try Row.fetchAll(
                db, sql: "SELECT key_id, SUM(cost) FROM request_log WHERE time >= ? GROUP BY key_id", arguments: [since]
            )
            let teams = try Row.fetchAll(
                db, sql: "SELECT team, SUM(cost) FROM request_log WHERE time >= ? AND team IS NOT NULL GROUP BY team",
                arguments: [since])
            return (
                Dictionary(uniqueKeysWithValues: keys.map { ($0[0], $0[1]) }),
                Dictionary(uniqueKeysWithValues: teams.map { ($0[0], $0[1]) })
            )
        }
    }
}
