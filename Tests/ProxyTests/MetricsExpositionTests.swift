import Foundation
import Testing

@testable import Proxy

/// GET /metrics explains itself: HELP on every family, the standard process metrics, the embedder, cache
/// and database gauges, and every metric the Grafana dashboard in deploy/grafana draws.
@Suite(.serialized) struct MetricsExpositionTests {
    static let yaml = """
        providers: [ { name: mock, kind: openai, base_url: "MOCK/v1" } ]
        models:
          - { name: chat, deployments: [ { provider: mock, model: mock-small, input_price: 1, output_price: 2 } ] }
          - { name: broken, cache: false, deployments: [ { provider: mock, model: "mock@fail500" } ] }
        routing: { retries: 0 }
        cache: { enabled: true, threshold: 0.5, scope: global, verifier: { enabled: false },
                 embedder: { kind: local, model_dir: data/models/all-MiniLM-L6-v2, threads: 1 } }
        """

    static func chat(_ text: String, model: String = "chat", stream: Bool = false) -> JSONValue {
        ["model": .string(model), "messages": [["role": "user", "content": .string(text)]], "stream": .bool(stream)]
    }

    /// The families (`# TYPE` lines) and sample names of an exposition.
    static func names(_ text: String) -> (families: [String], samples: Set<String>) {
        var families: [String] = []
        var samples: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                families.append(String(line.split(separator: " ")[2]))
            } else if !line.hasPrefix("#"), let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first {
                samples.insert(String(name))
            }
        }
        return (families, samples)
    }

    /// Traffic that makes every family appear: a miss, an exact and a semantic hit, a stream, an upstream
    /// failure and a rate-limit rejection; then the exposition once the request log has been written.
    static func exercisedExposition(_ live: LiveGateway) async throws -> String {
        _ = try await live.post("/v1/chat/completions", chat("How do I reset my password?"))
        _ = try await live.post("/v1/chat/completions", chat("How do I reset my password?"))
        _ = try await live.post("/v1/chat/completions", chat("how can I reset my password"))
        _ = try await live.post("/v1/chat/completions", chat("Tell me a story about a lighthouse", stream: true))
        _ = try await live.post("/v1/chat/completions", chat("fail please", model: "broken"))
        let limited = try await live.createKey(["name": "limited", "rpm": 1])
        for _ in 0..<2 { _ = try await live.post("/v1/chat/completions", chat("limited"), key: limited) }
        for _ in 0..<200 {
            let text = try await live.get("/metrics", key: "none").text
            if text.contains("routershift_database_write_duration_seconds_count") { return text }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        Issue.record("the request log was not written within 10 s")
        return try await live.get("/metrics", key: "none").text
    }

    @Test func everyFamilyHasHelpAndTheDashboardsMetricsAllExist() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let text = try await Self.exercisedExposition(live)
            let (families, samples) = Self.names(text)
            #expect(families.count >= 20)
            for family in families {
                #expect(text.contains("# HELP \(family) "), "\(family) has no HELP line")
            }
            for name in [
                "process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
                "process_start_time_seconds", "routershift_embedder_queue_texts",
                "routershift_embedder_batch_size_count",
                "routershift_cache_entries", "routershift_cache_index_bytes",
                "routershift_database_write_duration_seconds_bucket",
            ] {
                #expect(samples.contains(name), "\(name) missing from /metrics")
            }
            let dashboard = try JSONValue.parse(
                Array(try Data(contentsOf: URL(fileURLWithPath: "deploy/grafana/routershift.json"))))
            let named = Self.metricNames(inDashboard: dashboard)
            #expect(named.count >= 20)
            for name in named.sorted() {
                #expect(samples.contains(name), "the dashboard draws \(name), which /metrics does not export")
            }
        }
    }

    @Test func theGaugesReportWhatTheCacheAndEmbedderHold() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let text = try await Self.exercisedExposition(live)
            func value(_ sample: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap {
                    Double($0.split(separator: " ").last!)
                }
            }
            let entries = try live.gateway.store.readNow { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM cache_entry") ?? 0
            }
            #expect(entries >= 2)
            #expect(value("routershift_cache_entries") == Double(entries))
            #expect(value("routershift_cache_index_entries") == Double(live.gateway.cache!.index!.count))
            #expect((value("routershift_cache_index_bytes") ?? 0) > 0)
            #expect((value("routershift_database_bytes") ?? 0) > 4096)
            #expect(value("routershift_embedder_queue_texts") == 0)
            // Every embedded prompt went through a forward pass: the passes carried at least the prompts.
            #expect((value("routershift_embedder_batch_size_sum") ?? 0) >= 3)
            #expect(
                value("routershift_embedder_batch_size_bucket{le=\"+Inf\"}")
                    == value("routershift_embedder_batch_size_count"))
            #expect((value("process_resident_memory_bytes") ?? 0) > 10_000_000)
            #expect((value("process_open_fds") ?? 0) >= 3)
            let started = value("process_start_time_seconds") ?? 0
            #expect(started > Date().timeIntervalSince1970 - 86400 && started <= Date().timeIntervalSince1970 + 1)
        }
    }

    /// Metric names in the dashboard's PromQL expressions.
    static func metricNames(inDashboard dashboard: JSONValue) -> Set<String> {
        var names: Set<String> = []
        func visit(_ value: JSONValue) {
            switch value {
            case .object(let fields):
                if let expression = fields["expr"]?.string {
                    let pattern = /\b(?:routershift|process)_[a-z_]+\b/
                    for match in expression.matches(of: pattern) { names.insert(String(match.output)) }
                }
                fields.values.forEach(visit)
            case .array(let items): items.forEach(visit)
            default: break
            }
        }
        visit(dashboard)
        return names
    }

    @Test func processFiguresAreReadFromProcStat() throws {
        // A command name with spaces and a parenthesis, as proc(5) allows.
        let stat =
            "4242 (routershift (x) y) S 1 4242 4242 0 -1 4194304 1200 0 0 0 250 50 0 0 20 0 9 0 1000 "
            + "2147483648 5000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
        let system = "cpu  1 2 3\nbtime 1700000000\nprocesses 10\n"
        let limits =
            "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n"
        let figures = try #require(
            ProcessMetrics.parse(
                stat: stat, system: system, openFileDescriptors: 12, limits: limits, ticksPerSecond: 100,
                pageSize: 4096))
        #expect(figures.cpuSeconds == 3)
        #expect(figures.startTimeSeconds == 1_700_000_010)
        #expect(figures.virtualMemoryBytes == 2_147_483_648)
        #expect(figures.residentMemoryBytes == 5000 * 4096)
        #expect(figures.openFileDescriptors == 12 && figures.maxFileDescriptors == 1024)
        #expect(
            ProcessMetrics.parse(
                stat: "garbage", system: system, openFileDescriptors: 1, limits: nil, ticksPerSecond: 100,
                pageSize: 4096) == nil)
        let own = try #require(ProcessMetrics.read())
        #expect(own.residentMemoryBytes > 0 && own.openFileDescriptors > 0)
    }

    @Test func helpIsAddedOnlyWhereMissing() {
        let text = "# TYPE a_total counter\na_total 1\n# HELP b b's own.\n# TYPE b gauge\nb 2\n# TYPE c gauge\nc 3\n"
        let helped = PrometheusText.addingHelp(text, help: ["a_total": "Counts a.", "b": "Not used."])
        #expect(
            helped
                == "# HELP a_total Counts a.\n# TYPE a_total counter\na_total 1\n# HELP b b's own.\n# TYPE b gauge\nb 2\n# TYPE c gauge\nc 3\n"
        )
    }
}
