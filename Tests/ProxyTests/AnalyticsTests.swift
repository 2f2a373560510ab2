import Foundation
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// The request log, spend, budgets and metrics after known traffic through a live gateway.
@Suite struct AnalyticsTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1", timeout: 5s }
        models:
          - name: small
            deployments: [ { name: cheap, provider: mock, model: mock-small } ]
          - name: broken
            deployments: [ { name: down, provider: mock, model: "mock@fail500" } ]
        routing: { retries: 0, backoff: 10ms }
        cache: { enabled: true, semantic: false }
        teams:
          - { name: research, budget: 0.000001, budget_period: day }
        """

    static let price = ModelPrice(input: 0.1, output: 0.4)

    private func chat(_ text: String, model: String = "small") -> JSONValue {
        ["model": .string(model), "messages": [["role": "user", "content": .string(text)]]]
    }

    private func cost(of answer: JSONValue) -> Double {
        let usage = answer["usage"]!
        return Self.price.cost(
            of: Usage(
                promptTokens: Int(usage["prompt_tokens"]!.integer!),
                completionTokens: Int(usage["completion_tokens"]!.integer!)))
    }

    @Test(.timeLimit(.minutes(1))) func logSpendAndMetricsMatchTheTraffic() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            var spent = 0.0
            var firstCost = 0.0
            for (index, text) in ["one", "two", "three"].enumerated() {
                let answer = try await live.post("/v1/chat/completions", chat("question \(text)"))
                #expect(answer.status == 200)
                spent += cost(of: answer.body)
                if index == 0 { firstCost = cost(of: answer.body) }
            }
            let hit = try await live.post("/v1/chat/completions", chat("question one"))
            #expect(hit.headers.first(name: "x-routershift-cache") == "hit")
            #expect(try await live.post("/v1/chat/completions", chat("x", model: "broken")).status == 502)
            #expect(try await live.post("/v1/chat/completions", chat("x", model: "no-such-model")).status == 404)

            let logs = try await live.get("/admin/logs?limit=100")
            let rows = logs.body["data"]!.array!
            #expect(rows.count == 6)
            #expect(rows.compactMap { $0["status"]?.integer }.sorted() == [200, 200, 200, 200, 404, 502])
            let hitRow = try #require(rows.first { $0["cache_result"]?.string == "hit" })
            #expect(hitRow["cost"]?.number == 0 && hitRow["cost_saved"]?.number == firstCost)
            let failed = try #require(rows.first { $0["status"]?.integer == 502 })
            #expect(failed["model"]?.string == "broken" && failed["error_type"]?.string != nil)
            let page = try await live.get("/admin/logs?limit=4")
            #expect(page.body["data"]?.array?.count == 4)
            let next = try #require(page.body["next"]?.string)
            let rest = try await live.get(
                "/admin/logs?limit=4&after=\(next.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            #expect(rest.body["data"]?.array?.count == 2)
            #expect(try await live.get("/admin/logs?errors=true").body["data"]?.array?.count == 2)

            let byModel = try await live.get("/admin/spend?group_by=model")
            let small = try #require(byModel.body["data"]?.array?.first { $0["group"]?.string == "small" })
            #expect(small["requests"]?.integer == 4 && small["cache_hits"]?.integer == 1)
            #expect(abs(small["cost"]!.number! - spent) < 1e-15)
            #expect(small["cost_saved"]?.number == firstCost)
            let byKey = try await live.get("/admin/spend?group_by=key&interval=hour")
            let master = try #require(byKey.body["data"]?.array?.first)
            #expect(master["group"]?.string == "master" && master["name"]?.string == "master key")
            #expect(master["period_start"]?.number != nil && master["requests"]?.integer == 6)

            let stats = try await live.get("/admin/stats?from=1h")
            #expect(stats.body["requests"]?.integer == 6 && stats.body["errors"]?.integer == 2)
            // The failed request looked the cache up too before it went upstream.
            #expect(stats.body["cache"]?["exact_hits"]?.integer == 1 && stats.body["cache"]?["misses"]?.integer == 4)
            #expect(abs(stats.body["cache"]!["hit_rate"]!.number! - 0.2) < 1e-12)
            #expect(stats.body["latency_ms"]?["p50"]?.number != nil)
            #expect(try await live.get("/admin/stats?group_by=colour").status == 400)

            let metrics = try await live.get("/metrics", key: "")
            #expect(metrics.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
            let text = metrics.text
            func value(_ name: String, _ labels: [String: String]) -> Double? {
                Self.metric(text, name, labels)
            }
            let chatRoute = ["route": "/v1/chat/completions"]
            #expect(
                value("routershift_requests_total", chatRoute.merging(["deployment": "cheap", "status": "200"]) { $1 })
                    == 3)
            #expect(
                value("routershift_requests_total", ["model": "small", "deployment": "none", "status": "200"]) == 1)
            #expect(value("routershift_requests_total", ["model": "broken", "status": "502"]) == 1)
            #expect(value("routershift_requests_total", ["model": "unknown", "status": "404"]) == 1)
            #expect(value("routershift_request_duration_seconds_count", ["deployment": "cheap", "status": "200"]) == 3)
            #expect(value("routershift_cache_requests_total", ["model": "small", "result": "hit"]) == 1)
            #expect(value("routershift_cache_requests_total", ["model": "small", "result": "miss"]) == 3)
            #expect(value("routershift_cache_requests_total", ["model": "broken", "result": "miss"]) == 1)
            #expect(value("routershift_cache_similarity_count", ["model": "small"]) == 1)
            #expect(abs((value("routershift_cost_dollars_total", ["model": "small"]) ?? 0) - spent) < 1e-12)
            #expect(value("routershift_upstream_errors_total", ["deployment": "down", "kind": "status_5xx"]) == 1)
            #expect(value("routershift_breaker_state", ["deployment": "cheap"]) == 0)
            let inputTokens = rows.filter { $0["cache_result"]?.string == "miss" }.compactMap {
                $0["input_tokens"]?.integer
            }
            #expect(
                value("routershift_tokens_total", ["model": "small", "direction": "input"])
                    == Double(inputTokens.reduce(0, +)))
        }
    }

    @Test(.timeLimit(.minutes(1))) func budgetsAndLimitsRefuseWithClearErrors() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let capped = try await live.createKey(["name": "capped", "budget": 0.000001, "budget_period": "month"])
            #expect(try await live.post("/v1/chat/completions", chat("spend it"), key: capped).status == 200)
            let refused = try await live.post("/v1/chat/completions", chat("again"), key: capped)
            #expect(refused.status == 429 && refused.body["error"]?["code"]?.string == "budget_exceeded")
            #expect(refused.headers.first(name: "x-should-retry") == "false")
            #expect(refused.body["error"]?["message"]?.string?.contains("monthly budget") == true)
            let keys = try await live.get("/admin/keys")
            let listed = try #require(keys.body["data"]?.array?.first { $0["name"]?.string == "capped" })
            #expect((listed["spend"]?.number ?? 0) > 0.000001)

            let member = try await live.createKey(["name": "member", "team": "research"])
            #expect(try await live.post("/v1/chat/completions", chat("team spend"), key: member).status == 200)
            let teamRefusal = try await live.post("/v1/chat/completions", chat("team again"), key: member)
            #expect(
                teamRefusal.status == 429
                    && teamRefusal.body["error"]?["message"]?.string?.contains("Team `research`") == true)
            let teamSpend = try await live.get("/admin/spend?group_by=team")
            #expect(
                teamSpend.body["data"]?.array?.first { $0["group"]?.string == "research" }?["requests"]?.integer == 2)

            let limited = try await live.createKey(["name": "limited", "rpm": 1])
            #expect(try await live.post("/v1/chat/completions", chat("first"), key: limited).status == 200)
            #expect(try await live.post("/v1/chat/completions", chat("second"), key: limited).status == 429)
            let metrics = try await live.get("/metrics", key: "").text
            #expect(
                Self.metric(metrics, "routershift_rate_limit_rejections_total", ["model": "small", "scope": "key"]) == 1
            )
            #expect(
                Self.metric(metrics, "routershift_rate_limit_rejections_total", ["model": "small", "scope": "budget"])
                    == 2)
        }
    }

    @Test(.timeLimit(.minutes(1))) func dashboardPageIsServedWithoutAKey() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let page = try await live.get("/ui", key: "")
            #expect(page.status == 200 && page.headers.first(name: "content-type")?.hasPrefix("text/html") == true)
            #expect(
                page.text.contains("/admin/stats") && !page.text.contains("http://") && !page.text.contains("https://"))
            #expect(try await live.get("/admin/stats", key: "").status == 401)
        }
    }

    /// The value of the sample of `name` whose labels include `labels`; nil when there is none.
    static func metric(_ text: String, _ name: String, _ labels: [String: String]) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let head = line.prefix { $0 != " " }
            let labelText = head.drop { $0 != "{" }
            let present = labels.allSatisfy { labelText.contains("\($0.key)=\"\($0.value)\"") }
            if present, let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
        }
        return nil
    }
}
