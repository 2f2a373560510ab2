import ArgumentParser
import AsyncHTTPClient
import Embedding
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

struct CacheBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract:
            "Exact-hit, semantic-hit and miss latency and semantic-hit throughput over HTTP, beside GPTCache on the same prompts."
    )

    @Option(help: "The routershift binary (release).") var binary = ".build/release/routershift"
    @Option(help: "Pairs of a prompt and its paraphrase (JSON [{origin, similar}]).")
    var pairs = "../shared/data/semcache/gptcache-mock-paraphrases.json"
    @Option(help: "Pairs to use, those whose prompt is nearest 32 tokens.") var count = 200
    @Option(help: "Cosine threshold for both caches.") var threshold = 0.9
    @Option(help: "Whether RouterShift's verifier judges semantic hits (true/false).") var verifier = true
    @Option(help: "Seconds of semantic-hit load at concurrency 16.") var seconds = 10.0
    @Option(help: "Directory of the model files.") var modelDir = ModelFiles.defaultDirectory
    /// ``modelDir`` from the working directory: the gateway reads paths in its configuration from the
    /// configuration's own folder, a temporary one.
    private var modelPath: String { URL(fileURLWithPath: modelDir).standardizedFileURL.path }
    @Option(
        help:
            "Comma-separated open-loop rates (requests/s) of semantic hits; latency counts from each intended send time."
    )
    var rates = "50,100"
    @Option(help: "Seconds of open-loop load per rate.") var openLoopSeconds = 5.0
    @Flag(
        inversion: .prefixedNo,
        help: "Pin the server under test to one CPU and the load generator and mock upstream to the others (taskset).")
    var pin = false
    @Option(
        help:
            "Comma-separated cache sizes: instead of the comparison, fill the cache to each with synthetic entries and measure its size, reopen time, memory and hits."
    )
    var entries: String?
    @Option(help: "Where the cache of --entries is built (removed and made again).")
    var scaleDirectory = ".build/bench-scale"
    @Flag(
        help:
            "With --entries: measure the cache an earlier --entries run left in --scale-directory as it is (reopen, memory, hits), without rebuilding it."
    )
    var remeasure = false
    @Option(help: "With --entries: the cache's ef_search (the gateway's default when not given).")
    var efSearch: Int?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        if let entries {
            try await runAtScale(entries)
            return
        }
        let (binary, seconds, threshold) = (self.binary, self.seconds, self.threshold)
        let selected = try choosePairs()
        progress(
            "\(selected.count) prompts of \(selected.map(\.tokens).min() ?? 0)-\(selected.map(\.tokens).max() ?? 0) tokens"
        )
        ServerRegistry.shared.stopAllOnSignals()
        let cores = CorePlan(pin: pin)
        cores.pinLoadGenerator()
        progress(cores.description)
        let client = benchmarkClient()
        defer { _ = client.shutdown() }
        let (mock, upstream) = try startMockUpstream(binary: binary, cores: cores.load)
        defer { mock.stop() }

        var rows: [ResultRow] = []
        // The same prompts without the cache: what a miss costs over answering without one.
        do {
            let uncached = try await BenchGateway.start(
                binary: binary, upstream: upstream, cache: "{ enabled: false }", cores: cores.server, client: client)
            defer { uncached.stop() }
            progress("routershift without the cache: the same prompts")
            rows.append(try await measureUncached(base: uncached.base, pairs: selected, client: client))
        }
        do {
            let gateway = try await BenchGateway.start(
                binary: binary, upstream: upstream,
                cache: """
                    { enabled: true, threshold: \(threshold), scope: global, embedder: { kind: local, model_dir: \(modelPath) },
                      verifier: { enabled: \(verifier) } }
                    """, cores: cores.server, client: client)
            defer { gateway.stop() }
            let base = gateway.base
            rows += try await measure(
                engine: "routershift", base: base, pairs: selected, client: client, seconds: seconds
            ) { head in
                head.headers.first(name: "x-routershift-cache") ?? "miss"
            }
            // The gateway's own account of what verifying a candidate cost and what an entry stores, from its
            // cache statistics.
            var statsRequest = HTTPClientRequest(url: base + "/admin/cache/stats")
            statsRequest.headers.add(name: "Authorization", value: "Bearer sk-bench-master-key")
            let statsBody = try await client.execute(statsRequest, timeout: .seconds(10)).body.collect(upTo: 1 << 20)
            if let stats = try JSONSerialization.jsonObject(with: Data(statsBody.readableBytesView)) as? [String: Any],
                let index = rows.lastIndex(where: { $0["kind"]?.text == "semantic-hit" })
            {
                for name in ["verifier_ms_p50", "verifier_ms_p99"] {
                    if let value = stats[name] as? Double { rows[index].set(name, .double(value, digits: 3)) }
                }
                for name in ["entry_bytes_avg", "token_state_bytes_avg", "index_node_bytes_avg"] {
                    if let value = stats[name] as? Double { rows[index].set(name, .double(value, digits: 0)) }
                }
            }
        }

        if !output.noPeer {
            let peerPort = try freePort()
            progress("gptcache: starting")
            let peer = try ServerProcess(
                "Benchmarks/peers/run-peer.sh",
                [
                    "gptcache", "Benchmarks/peers/gptcache_peer.py", "--upstream", upstream + "/v1", "--port",
                    String(peerPort),
                    "--threshold", String(threshold), "--model-dir", modelPath,
                ], cores: cores.server)
            defer { peer.stop() }
            let ready = try ResultRow(json: Substring(try peer.line(timeout: 900)))
            peer.adopt(Int32(ready.number("pid") ?? 0))
            rows += try await measure(
                engine: "gptcache", base: "http://127.0.0.1:\(peerPort)", pairs: selected, client: client,
                seconds: seconds
            ) {
                head in
                // GPTCache does not tell an exact hit from a semantic one: the phase says which it is.
                head.headers.first(name: "x-cache") == "hit" ? "hit" : "miss"
            }
        }
        report(rows)
    }

    /// Each prompt once through a gateway without the cache: the baseline a miss is compared with.
    private func measureUncached(base: String, pairs: [CachePrompt], client: HTTPClient) async throws -> ResultRow {
        var latencies: [Double] = []
        for text in ["warm up the connection"] + pairs.map(\.origin) {
            let begin = DispatchTime.now().uptimeNanoseconds
            let response = try await client.execute(CachePrompts.chatRequest(base, text), timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 1 << 24)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
        }
        return row("routershift", "no-cache", Array(latencies.dropFirst()), total: pairs.count)
    }

    private func choosePairs() throws -> [CachePrompt] {
        try CachePrompts(file: pairs, modelDir: modelDir).nearest(tokens: 32, count: count)
    }

    /// The three phases on one server: misses (first sight of each prompt), exact hits (the same prompts
    /// again), semantic hits (their paraphrases), then semantic hits at concurrency 16.
    private func measure(
        engine: String, base: String, pairs: [CachePrompt], client: HTTPClient, seconds: Double,
        outcome: @escaping @Sendable (HTTPClientResponse.Head) -> String
    ) async throws -> [ResultRow] {
        @Sendable func request(_ text: String) -> HTTPClientRequest { CachePrompts.chatRequest(base, text) }
        func timed(_ text: String) async throws -> (Double, String) {
            let begin = DispatchTime.now().uptimeNanoseconds
            let response = try await client.execute(request(text), timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 1 << 24)
            return (
                Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6,
                outcome(.init(status: response.status, headers: response.headers))
            )
        }
        progress("\(engine): misses, exact hits, semantic hits")
        _ = try await timed("warm up the embedder and the connection")
        var misses: [Double] = []
        var exact: [Double] = []
        var semantic: [Double] = []
        var hitting: [String] = []
        for pair in pairs {
            let (latency, kind) = try await timed(pair.origin)
            if kind == "miss" { misses.append(latency) }
        }
        for pair in pairs {
            let (latency, kind) = try await timed(pair.origin)
            if kind == "hit" { exact.append(latency) }
        }
        for pair in pairs {
            let (latency, kind) = try await timed(pair.paraphrase)
            if kind == "semantic-hit" || (engine == "gptcache" && kind == "hit") {
                semantic.append(latency)
                hitting.append(pair.paraphrase)
            }
        }
        var rows = [
            row(engine, "miss", misses, total: pairs.count), row(engine, "exact-hit", exact, total: pairs.count),
            row(engine, "semantic-hit", semantic, total: pairs.count),
        ]
        guard !hitting.isEmpty else { return rows }
        progress("\(engine): semantic hits at concurrency 16 for \(Int(seconds)) s")
        let texts = hitting
        let load = try await LoadGenerator(client: client).run(
            concurrency: 16, seconds: seconds, request: { request(texts[$0 % texts.count]) }
        ) {
            let kind = outcome($0)
            return kind == "semantic-hit" || (engine == "gptcache" && kind == "hit")
        }
        rows[2].set("rps", .double(load.requestsPerSecond, digits: 1))
        rows[2].set("concurrency", .int(16))
        rows[2].set("load_latency_ms_p50", .double(percentile(load.latencies, 0.5), digits: 2))
        for rate in rates.split(separator: ",").compactMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) {
            progress("\(engine): semantic hits, open loop at \(Int(rate)) requests/s")
            let open = try await LoadGenerator(client: client).runOpenLoop(
                rate: rate, seconds: openLoopSeconds, request: { request(texts[$0 % texts.count]) }
            ) {
                let kind = outcome($0)
                return kind == "semantic-hit" || (engine == "gptcache" && kind == "hit")
            }
            var row = row(engine, "semantic-hit", open.latencies, total: open.latencies.count + open.errors)
            row.set("mode", .string("open-loop"))
            row.set("rate", .double(rate, digits: 0))
            row.set("rps", .double(open.requestsPerSecond, digits: 1))
            row.set("dropped", .int(open.dropped))
            rows.append(row)
        }
        return rows
    }

    private func runAtScale(_ entries: String) async throws {
        let sizes = entries.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.sorted()
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
            throw BenchmarkError("--entries: expected comma-separated positive counts such as 10000,100000")
        }
        ServerRegistry.shared.stopAllOnSignals()
        let client = benchmarkClient()
        defer { _ = client.shutdown() }
        let scale = CacheScaleBenchmark(
            binary: binary, prompts: try CachePrompts(file: pairs, modelDir: modelDir), count: count,
            threshold: threshold, modelPath: modelPath,
            directory: URL(fileURLWithPath: scaleDirectory).standardizedFileURL, sizes: sizes,
            remeasure: remeasure, efSearch: efSearch)
        let rows = try await scale.run(client: client)
        if output.json {
            rows.forEach { print($0.jsonLine()) }
            return
        }
        print(
            "Semantic cache at scale: synthetic entries beside \(count) real prompts near 32 tokens and 20 each of 128 and 256, ef_search \(efSearch.map(String.init) ?? "default")"
        )
        print(machineDescription())
        printTable(
            title: "Database and reopen (start to first healthy answer, model load included)",
            columns: ["entries", "database MB", "bytes/entry", "start warm s", "start cold s", "cold by", "RSS MB"],
            rows: rows.map { row in
                [
                    row["entries"]?.text ?? "-",
                    row.number("database_bytes").map { String(format: "%.0f", $0 / 1e6) } ?? "-",
                    row["bytes_per_entry"]?.text ?? "-", row["start_warm_s"]?.text ?? row["start_s"]?.text ?? "-",
                    row["start_cold_s"]?.text ?? "-", row["cold_by"]?.text ?? "-", row["rss_mb"]?.text ?? "-",
                ]
            })
        printTable(
            title: "Hits over HTTP, one at a time (ms)",
            columns: ["entries", "kind", "tokens", "hits", "p50", "p99"],
            rows: rows.filter { $0["entries"]?.text != "0" }.flatMap { row in
                ["semantic_32", "semantic_128", "semantic_256", "exact_32"].map { name in
                    [
                        row["entries"]?.text ?? "-", name.hasPrefix("exact") ? "exact" : "semantic",
                        String(name.split(separator: "_")[1]), row["\(name)_hits"]?.text ?? "-",
                        row["\(name)_ms_p50"]?.text ?? "-", row["\(name)_ms_p99"]?.text ?? "-",
                    ]
                }
            })
    }

    private func row(_ engine: String, _ kind: String, _ latencies: [Double], total: Int) -> ResultRow {
        ResultRow([
            ("engine", .string(engine)), ("kind", .string(kind)), ("count", .int(latencies.count)), ("of", .int(total)),
            ("latency_ms_p50", .double(percentile(latencies, 0.5), digits: 2)),
            ("latency_ms_p99", .double(percentile(latencies, 0.99), digits: 2)),
        ])
    }

    private func report(_ rows: [ResultRow]) {
        if output.json {
            rows.forEach { print($0.jsonLine()) }
            return
        }
        print(
            "Semantic cache over HTTP on loopback, \(count) prompts near 32 tokens, threshold \(threshold), verifier \(verifier)"
        )
        print(machineDescription())
        print(CorePlan(pin: pin).description)
        let closed = rows.filter { $0["mode"] == nil }
        printTable(
            title: "", columns: ["engine", "kind", "requests", "p50 ms", "p99 ms", "rps at c=16"],
            rows: closed.map { row in
                [
                    row["engine"]?.text ?? "-", row["kind"]?.text ?? "-",
                    "\(row["count"]?.text ?? "0")/\(row["of"]?.text ?? "0")",
                    row["latency_ms_p50"]?.text ?? "-", row["latency_ms_p99"]?.text ?? "-", row["rps"]?.text ?? "-",
                ]
            })
        printTable(
            title: "Semantic hits, open loop: latency from each request's intended send time",
            columns: ["engine", "offered rps", "rps", "p50 ms", "p99 ms", "failed", "dropped"],
            rows: rows.filter { $0["mode"]?.text == "open-loop" }.map { row in
                ["engine", "rate", "rps", "latency_ms_p50", "latency_ms_p99"].map { row[$0]?.text ?? "-" }
                    + [
                        String(Int(row.number("of") ?? 0) - Int(row.number("count") ?? 0)),
                        row["dropped"]?.text ?? "-",
                    ]
            })
        let mine = closed.first { $0["engine"]?.text == "routershift" && $0["kind"]?.text == "semantic-hit" }
        let theirs = closed.first { $0["engine"]?.text == "gptcache" && $0["kind"]?.text == "semantic-hit" }
        print("semantic-hit throughput: \(ratio(mine?.number("rps"), theirs?.number("rps"))) of GPTCache's")
        let miss = closed.first { $0["engine"]?.text == "routershift" && $0["kind"]?.text == "miss" }
        let uncached = closed.first { $0["kind"]?.text == "no-cache" }
        if let miss = miss?.number("latency_ms_p50"), let uncached = uncached?.number("latency_ms_p50") {
            print(
                String(
                    format: "miss overhead over no cache: p50 %.2f ms (%.2f against %.2f)", miss - uncached, miss,
                    uncached))
        }
        if let p50 = mine?.number("verifier_ms_p50"), let p99 = mine?.number("verifier_ms_p99") {
            print(
                String(
                    format: "verifier, per candidate verified (from /admin/cache/stats): p50 %.3f ms, p99 %.3f ms", p50,
                    p99))
        }
        if let entry = mine?.number("entry_bytes_avg") {
            print(
                String(
                    format:
                        "bytes per cache entry (from /admin/cache/stats): %.0f, of which token states %.0f, index node %.0f",
                    entry, mine?.number("token_state_bytes_avg") ?? 0, mine?.number("index_node_bytes_avg") ?? 0))
        }
    }
}
