import Foundation
import HTTPTypes
import Hummingbird

/// Analytics over the request log, master key only: `/admin/logs` (filtered, newest first, paged),
/// `/admin/spend` (totals by key, team, model or deployment, per hour or day), `/admin/stats` (totals,
/// cache hit rate, latency percentiles); and the dashboard page at `/ui` that draws them.
struct AnalyticsRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        let admin = router.group("admin")
        admin.get("logs") { request, _ in try logs(request) }
        admin.get("spend") { request, _ in try spend(request) }
        admin.get("stats") { request, _ in try stats(request) }
        router.get("/ui") { _, _ in dashboard() }
    }

    /// The query of a request, after writing the records still buffered so the answer counts every
    /// request that has finished.
    private func query(_ request: Request) throws -> AnalyticsQuery {
        var parameters: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { parameters[String(name)] = String(value) }
        let query = try AnalyticsQuery(parameters: parameters, now: gateway.clock.wallTime())
        try gateway.telemetry.log.flush()
        return query
    }

    private func logs(_ request: Request) throws -> Response {
        let query = try query(request)
        let page = try gateway.store.requests(matching: query.filter, limit: query.limit, after: query.after)
        return jsonResponse([
            "object": "list", "data": .array(page.records.map(AnalyticsJSON.record)),
            "next": page.next.map(JSONValue.string) ?? .null,
        ])
    }

    private func spend(_ request: Request) throws -> Response {
        let query = try query(request)
        let rows = try gateway.store.spend(matching: query.filter, groupBy: query.groupBy, interval: query.interval)
        let names = query.groupBy == .key ? keyNames() : [:]
        return jsonResponse([
            "object": "list", "group_by": query.groupBy.map { .string($0.rawValue) } ?? .null,
            "interval": query.interval.map { .string($0.rawValue) } ?? .null,
            "from": query.filter.from.map(JSONValue.number) ?? .null,
            "to": query.filter.to.map(JSONValue.number) ?? .null,
            "data": .array(
                rows.map { row in
                    var json = AnalyticsJSON.spend(row)
                    if query.groupBy == .key {
                        json["name"] = row.group.flatMap { names[$0] }.map(JSONValue.string) ?? .null
                    }
                    return .object(json)
                }),
        ])
    }

    private func stats(_ request: Request) throws -> Response {
        let query = try query(request)
        var json = AnalyticsJSON.statistics(try gateway.store.statistics(matching: query.filter))
        json["from"] = query.filter.from.map(JSONValue.number) ?? .null
        json["to"] = query.filter.to.map(JSONValue.number) ?? .null
        return jsonResponse(.object(json))
    }

    private func keyNames() -> [String: String] {
        var names = ["master": "master key"]
        for key in gateway.keys.all { names[key.id] = key.name }
        return names
    }

    private func dashboard() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'",
                HTTPField.Name("x-frame-options")!: "DENY",
            ],
            body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
    }
}

/// The analytics API's JSON, which `routershift stats --json` and `logs --json` print as well.
public enum AnalyticsJSON {
    public static func record(_ record: RequestRecord) -> JSONValue {
        func optional<T>(_ value: T?, _ wrap: (T) -> JSONValue) -> JSONValue { value.map(wrap) ?? .null }
        return .object([
            "id": .string(record.id), "request_id": optional(record.requestID, JSONValue.string),
            "trace_id": optional(record.traceID, JSONValue.string),
            "time": .number(record.time), "key_id": .string(record.keyID),
            "team": optional(record.team, JSONValue.string), "endpoint": .string(record.endpoint),
            "model": .string(record.model), "deployment": optional(record.deployment, JSONValue.string),
            "provider": optional(record.provider, JSONValue.string), "status": .integer(Int64(record.status)),
            "latency_ms": .number(record.latencyMilliseconds),
            "ttft_ms": optional(record.timeToFirstTokenMilliseconds, JSONValue.number),
            "input_tokens": .integer(Int64(record.inputTokens)), "output_tokens": .integer(Int64(record.outputTokens)),
            "cost": .number(record.cost), "cache_result": optional(record.cacheResult, JSONValue.string),
            "cache_similarity": optional(record.cacheSimilarity, JSONValue.number),
            "cost_saved": .number(record.costSaved), "tokens_saved": .integer(Int64(record.tokensSaved)),
            "retries": .integer(Int64(record.retries)), "error_type": optional(record.errorType, JSONValue.string),
        ])
    }

    public static func spend(_ row: SpendRow) -> [String: JSONValue] {
        [
            "group": row.group.map(JSONValue.string) ?? .null,
            "period_start": row.periodStart.map(JSONValue.number) ?? .null,
            "requests": .integer(Int64(row.requests)), "errors": .integer(Int64(row.errors)),
            "input_tokens": .integer(Int64(row.inputTokens)), "output_tokens": .integer(Int64(row.outputTokens)),
            "cost": .number(row.cost), "cost_saved": .number(row.costSaved),
            "tokens_saved": .integer(Int64(row.tokensSaved)), "cache_hits": .integer(Int64(row.cacheHits)),
        ]
    }

    public static func statistics(_ statistics: RequestStatistics) -> [String: JSONValue] {
        func figure(_ value: Double?) -> JSONValue { value.map(JSONValue.number) ?? .null }
        return [
            "requests": .integer(Int64(statistics.requests)), "errors": .integer(Int64(statistics.errors)),
            "cache": [
                "exact_hits": .integer(Int64(statistics.exactHits)),
                "semantic_hits": .integer(Int64(statistics.semanticHits)),
                "misses": .integer(Int64(statistics.misses)), "hit_rate": .number(statistics.hitRate),
            ],
            "cost": .number(statistics.cost), "cost_saved": .number(statistics.costSaved),
            "tokens": [
                "input": .integer(Int64(statistics.inputTokens)), "output": .integer(Int64(statistics.outputTokens)),
                "saved": .integer(Int64(statistics.tokensSaved)),
            ],
            "latency_ms": [
                "p50": figure(statistics.latency[0]), "p90": figure(statistics.latency[1]),
                "p99": figure(statistics.latency[2]),
            ],
            "ttft_ms": ["p50": figure(statistics.timeToFirstToken[0]), "p99": figure(statistics.timeToFirstToken[1])],
        ]
    }
}
