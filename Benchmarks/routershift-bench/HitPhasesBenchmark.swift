import ArgumentParser
import AsyncHTTPClient
import Embedding
import Foundation

/// Where the time of a cache hit goes, from the gateway's own spans: the gateway exports its traces over
/// OTLP to a receiver in this process, and each hit's server span is split into its child spans.
struct HitPhasesBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hit-phases",
        abstract: "The time of an exact and a semantic hit split into phases, from the gateway's OTLP spans."
    )

    @Option(help: "The routershift binary (release).") var binary = ".build/release/routershift"
    @Option(help: "Pairs of a prompt and its paraphrase (JSON [{origin, similar}]).")
    var pairs = "../shared/data/semcache/gptcache-mock-paraphrases.json"
    @Option(help: "Pairs to use, those whose prompt is nearest 32 tokens.") var count = 200
    @Option(help: "Cosine threshold.") var threshold = 0.9
    @Option(help: "Directory of the model files.") var modelDir = ModelFiles.defaultDirectory
    @Option(help: "Comma-separated encoder precisions to compare (cache.embedder.precision).")
    var precisions = "fp32,auto"
    @OptionGroup var output: OutputOptions

    /// The phases, in the order a request meets them, and how each is read from a trace.
    static let phases: [(name: String, help: String)] = [
        ("http", "client latency less the server span: HTTP parsing and writing, loopback, the client"),
        ("parse_key", "server span start to cache.lookup, less authenticate: body parse, cache key, plan"),
        ("auth", "authenticate"),
        ("exact_read", "cache.lookup less its children: the exact-key read"),
        ("embed", "cache.embed"),
        ("search", "cache.search"),
        ("read", "cache.read: the candidates' entries"),
        ("verify", "cache.verify: token states read and decoded, features, score"),
        ("encode_log", "cache.lookup end to server span end: response built, encoded, logged"),
    ]

    func run() async throws {
        let prompts = try CachePrompts(file: pairs, modelDir: modelDir).nearest(tokens: 32, count: count)
        let modelPath = URL(fileURLWithPath: modelDir).standardizedFileURL.path
        ServerRegistry.shared.stopAllOnSignals()
        let client = benchmarkClient()
        defer { _ = client.shutdown() }
        let (mock, upstream) = try startMockUpstream(binary: binary)
        defer { mock.stop() }
        let receiver = try await SpanReceiver()
        var rows: [ResultRow] = []
        for precision in precisions.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let gateway = try await BenchGateway.start(
                binary: binary, upstream: upstream,
                cache: """
                    { enabled: true, threshold: \(threshold), scope: global,
                      embedder: { kind: local, model_dir: \(modelPath), precision: \(precision) } }
                    """, cores: nil, client: client,
                extra: "telemetry: { otlp: { endpoint: \"\(receiver.url)\", sample_rate: 1 } }",
                environment: ["OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_BSP_MAX_QUEUE_SIZE": "65536"])
            defer { gateway.stop() }
            progress("precision \(precision): misses, exact hits, semantic hits")
            _ = try await CachePrompts.ask(gateway.base, "warm up the embedder and the connection", client: client)
            for prompt in prompts { _ = try await CachePrompts.ask(gateway.base, prompt.origin, client: client) }
            for (kind, texts) in [("exact-hit", prompts.map(\.origin)), ("semantic-hit", prompts.map(\.paraphrase))] {
                let begin = Self.unixNanoseconds()
                var latencies: [Double] = []
                for text in texts {
                    let (milliseconds, outcome) = try await CachePrompts.ask(gateway.base, text, client: client)
                    if outcome == (kind == "exact-hit" ? "hit" : "semantic-hit") { latencies.append(milliseconds) }
                }
                let traces = try await Self.traces(from: receiver, after: begin, count: texts.count)
                rows.append(Self.row(precision: precision, kind: kind, latencies: latencies, traces: traces))
            }
        }
        await receiver.stop()
        report(rows)
    }

    static func unixNanoseconds() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1e9) }

    /// The traces whose server span (the one without a parent) started after `begin`, grouped, once `count`
    /// of them are in: the exporter sends them in batches.
    private static func traces(from receiver: SpanReceiver, after begin: UInt64, count: Int) async throws
        -> [[ReceivedSpan]]
    {
        let deadline = Date().addingTimeInterval(30)
        while true {
            let spans = receiver.spans
            let traces = Set(spans.filter { $0.parentID.isEmpty && $0.start >= begin }.map(\.traceID))
            if traces.count >= count {
                return Array(Dictionary(grouping: spans.filter { traces.contains($0.traceID) }, by: \.traceID).values)
            }
            guard Date() < deadline else { throw BenchmarkError("the gateway exported fewer than \(count) traces") }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    /// One row: the p50 of each phase over the hits whose trace says they were hits of `kind`.
    private static func row(precision: String, kind: String, latencies: [Double], traces: [[ReceivedSpan]])
        -> ResultRow
    {
        var phases: [String: [Double]] = [:]
        var servers: [Double] = []
        let clientMedian = percentile(latencies, 0.5)
        for spans in traces {
            guard let server = spans.first(where: \.parentID.isEmpty),
                let lookup = spans.first(where: { $0.name == "cache.lookup" })
            else { continue }
            // A miss asks the upstream (a `chat <model>` span); a semantic hit is the one that was verified.
            let semantic = spans.contains { $0.name == "cache.verify" }
            guard semantic == (kind == "semantic-hit"), !spans.contains(where: { $0.name.hasPrefix("chat ") })
            else { continue }
            func span(_ name: String) -> Double { spans.first { $0.name == name }?.milliseconds ?? 0 }
            let auth = span("authenticate")
            let children = ["embed", "search", "read", "verify"].map { span("cache.\($0)") }
            servers.append(server.milliseconds)
            phases["parse_key", default: []].append(Double(lookup.start &- server.start) / 1e6 - auth)
            phases["auth", default: []].append(auth)
            phases["exact_read", default: []].append(lookup.milliseconds - children.reduce(0, +))
            for (name, value) in zip(["embed", "search", "read", "verify"], children) {
                phases[name, default: []].append(value)
            }
            phases["encode_log", default: []].append(Double(server.end &- lookup.end) / 1e6)
        }
        var row = ResultRow([
            ("precision", .string(precision)), ("default", .bool(precision == "auto")), ("kind", .string(kind)),
            ("hits", .int(latencies.count)), ("traced_hits", .int(servers.count)),
            ("latency_ms_p50", .double(clientMedian, digits: 3)),
            ("server_ms_p50", .double(percentile(servers, 0.5), digits: 3)),
        ])
        row.set("http_ms_p50", .double(clientMedian - percentile(servers, 0.5), digits: 3))
        for (name, _) in phases.sorted(by: { $0.key < $1.key }) {
            row.set(name + "_ms_p50", .double(percentile(phases[name] ?? [], 0.5), digits: 3))
        }
        return row
    }

    private func report(_ rows: [ResultRow]) {
        if output.json {
            rows.forEach { print($0.jsonLine()) }
            return
        }
        print("Cache hits split into phases by the gateway's spans, \(count) prompts near 32 tokens, one at a time")
        print(machineDescription())
        printTable(
            title: "p50 per phase, ms (each phase's own median: they need not add up to the total)",
            columns: ["precision", "kind", "hits", "total"] + Self.phases.map(\.name),
            rows: rows.map { row in
                [row["precision"]?.text ?? "-", row["kind"]?.text ?? "-", row["hits"]?.text ?? "-"]
                    + (["latency"] + Self.phases.map(\.name)).map { row[$0 + "_ms_p50"]?.text ?? "-" }
            })
        print("")
        for phase in Self.phases { print("\(phase.name): \(phase.help)") }
    }
}
