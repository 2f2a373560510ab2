import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

struct ProxyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract:
            "Requests/s and added latency at concurrency 1, 16 and 64 through RouterShift and LiteLLM, same upstream, same run."
    )

    @Option(help: "The routershift binary (release).") var binary = ".build/release/routershift"
    @Option(help: "Comma-separated concurrency levels.") var concurrency = "1,16,64"
    @Option(help: "Seconds of load per level.") var seconds = 10.0
    @Option(help: "Seconds of warm-up per server.") var warmup = 3.0
    @Option(help: "Comma-separated open-loop request rates (requests/s); latency counts from each intended send time.")
    var rates = "250,500,1000"
    @Option(help: "Seconds of open-loop load per rate.") var openLoopSeconds = 5.0
    @Flag(
        inversion: .prefixedNo,
        help: "Pin the server under test to one CPU and the load generator and mock upstream to the others (taskset).")
    var pin = true
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let levels = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let offered = rates.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let (seconds, warmup, openLoopSeconds) = (self.seconds, self.warmup, self.openLoopSeconds)
        ServerRegistry.shared.stopAllOnSignals()
        let cores = CorePlan(pin: pin)
        cores.pinLoadGenerator()
        progress(cores.description)
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ValidationError("\(binary) not found: swift build -c release --product routershift")
        }
        let client = benchmarkClient()
        defer { _ = client.shutdown() }
        let load = LoadGenerator(client: client)
        let (mock, upstream) = try startMockUpstream(binary: binary, cores: cores.load)
        defer { mock.stop() }
        progress("mock upstream at \(upstream)")

        func chat(_ base: String, key: String) -> @Sendable (Int) -> HTTPClientRequest {
            { _ in
                var request = HTTPClientRequest(url: base + "/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(key)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(
                    ByteBuffer(
                        string:
                            #"{"model":"bench","messages":[{"role":"user","content":"Say hello to the benchmark."}]}"#))
                return request
            }
        }

        var rows: [ResultRow] = []
        func measure(_ engine: String, _ request: @escaping @Sendable (Int) -> HTTPClientRequest, rss: () -> Double)
            async throws
            -> Measured
        {
            _ = try await load.run(concurrency: 4, seconds: warmup, request: request)
            var measured = Measured()
            for level in levels {
                progress("\(engine): concurrency \(level)")
                measured.closed[level] = try await load.run(concurrency: level, seconds: seconds, request: request)
            }
            for rate in offered {
                progress("\(engine): open loop at \(Int(rate)) requests/s")
                measured.open[rate] = try await load.runOpenLoop(
                    rate: rate, seconds: openLoopSeconds, request: request)
            }
            return measured
        }

        let direct = try await measure("direct", chat(upstream, key: "unused")) { .nan }
        for level in levels {
            rows.append(
                row(
                    "mock-direct", level: level, result: direct.closed[level]!, baseline: nil,
                    rss: mock.residentMegabytes))
        }
        for rate in offered { rows.append(openRow("mock-direct", result: direct.open[rate]!, baseline: nil)) }

        let started = try await BenchGateway.start(
            binary: binary, upstream: upstream, cache: "{ enabled: false }", cores: cores.server, client: client)
        let (gateway, gatewayURL) = (started.process, started.base)
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let idle = gateway.residentMegabytes
        let ours = try await measure("routershift", chat(gatewayURL, key: "sk-bench-master-key")) {
            gateway.residentMegabytes
        }
        let loaded = gateway.residentMegabytes
        for level in levels {
            var result = row(
                "routershift", level: level, result: ours.closed[level]!, baseline: direct.closed[level]!, rss: loaded)
            result.set("rss_idle_mb", .double(idle, digits: 1))
            rows.append(result)
        }
        for rate in offered {
            rows.append(openRow("routershift", result: ours.open[rate]!, baseline: direct.open[rate]!))
        }
        started.stop()

        if !output.noPeer {
            let peerPort = try freePort()
            progress("litellm: starting (about 10 s)")
            let peer = try ServerProcess(
                "Benchmarks/peers/run-peer.sh",
                [
                    "litellm", "Benchmarks/peers/litellm_peer.py", "--upstream", upstream + "/v1", "--model", "bench",
                    "--port", String(peerPort),
                    "--master-key", "sk-bench-master-key",
                ], cores: cores.server)
            defer { peer.stop() }
            let ready = try ResultRow(json: Substring(try peer.line(timeout: 600)))
            let peerPID = Int32(ready.number("pid") ?? 0)
            peer.adopt(peerPID)
            let peerURL = "http://127.0.0.1:\(peerPort)"
            let peerIdle = residentMegabytes(of: peerPID)
            let theirs = try await measure("litellm", chat(peerURL, key: "sk-bench-master-key")) {
                residentMegabytes(of: peerPID)
            }
            let peerLoaded = residentMegabytes(of: peerPID)
            for level in levels {
                var result = row(
                    "litellm", level: level, result: theirs.closed[level]!, baseline: direct.closed[level]!,
                    rss: peerLoaded)
                result.set("rss_idle_mb", .double(peerIdle, digits: 1))
                rows.append(result)
            }
            for rate in offered {
                rows.append(openRow("litellm", result: theirs.open[rate]!, baseline: direct.open[rate]!))
            }
        }

        if output.json {
            rows.forEach { print($0.jsonLine()) }
        } else {
            print(
                "Proxy overhead: POST /v1/chat/completions to a zero-latency mock upstream, \(Int(seconds)) s per level"
            )
            print(machineDescription())
            print(cores.description)
            let closedRows = rows.filter { $0["mode"]?.text == "closed-loop" }
            printTable(
                title: "Closed loop: each worker sends its next request when the last one answered",
                columns: [
                    "engine", "concurrency", "rps", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "errors",
                    "rss MB",
                ],
                rows: closedRows.map { row in
                    [
                        "engine", "concurrency", "rps", "latency_ms_p50", "latency_ms_p99", "added_ms_p50",
                        "added_ms_p99", "errors", "rss_mb",
                    ]
                    .map { row[$0]?.text ?? "-" }
                })
            printTable(
                title: "Open loop: a fixed rate, latency from each request's intended send time",
                columns: [
                    "engine", "offered rps", "rps", "p50 ms", "p99 ms", "p99.9 ms", "added p50 ms", "added p99 ms",
                    "errors", "dropped",
                ],
                rows: rows.filter { $0["mode"]?.text == "open-loop" }.map { row in
                    [
                        "engine", "rate", "rps", "latency_ms_p50", "latency_ms_p99", "latency_ms_p999", "added_ms_p50",
                        "added_ms_p99", "errors", "dropped",
                    ]
                    .map { row[$0]?.text ?? "-" }
                })
            for level in levels {
                let mine = closedRows.first {
                    $0["engine"]?.text == "routershift" && $0.number("concurrency") == Double(level)
                }
                let theirs = closedRows.first {
                    $0["engine"]?.text == "litellm" && $0.number("concurrency") == Double(level)
                }
                print(
                    "concurrency \(level): rps \(ratio(mine?.number("rps"), theirs?.number("rps"))) of LiteLLM, added p50 "
                        + "\(ratio(mine?.number("added_ms_p50"), theirs?.number("added_ms_p50"))) of LiteLLM's")
            }
        }
    }

    private func row(
        _ engine: String, level: Int, result: LoadGenerator.Result, baseline: LoadGenerator.Result?, rss: Double
    ) -> ResultRow {
        let p50 = percentile(result.latencies, 0.5)
        let p99 = percentile(result.latencies, 0.99)
        var row = ResultRow([
            ("engine", .string(engine)), ("mode", .string("closed-loop")), ("concurrency", .int(level)),
            ("rps", .double(result.requestsPerSecond, digits: 0)),
            ("latency_ms_p50", .double(p50, digits: 3)), ("latency_ms_p99", .double(p99, digits: 3)),
            ("errors", .int(result.errors)),
            ("rss_mb", .double(rss, digits: 1)),
        ])
        if let baseline {
            row.set("added_ms_p50", .double(p50 - percentile(baseline.latencies, 0.5), digits: 3))
            row.set("added_ms_p99", .double(p99 - percentile(baseline.latencies, 0.99), digits: 3))
        }
        return row
    }
}

extension ProxyBenchmark {
    /// One server's closed-loop results by concurrency and open-loop results by offered rate.
    struct Measured {
        var closed: [Int: LoadGenerator.Result] = [:]
        var open: [Double: LoadGenerator.OpenLoopResult] = [:]
    }

    func openRow(_ engine: String, result: LoadGenerator.OpenLoopResult, baseline: LoadGenerator.OpenLoopResult?)
        -> ResultRow
    {
        let p50 = percentile(result.latencies, 0.5)
        let p99 = percentile(result.latencies, 0.99)
        var row = ResultRow([
            ("engine", .string(engine)), ("mode", .string("open-loop")),
            ("rate", .double(result.offeredRate, digits: 0)),
            ("rps", .double(result.requestsPerSecond, digits: 0)),
            ("latency_ms_p50", .double(p50, digits: 3)), ("latency_ms_p99", .double(p99, digits: 3)),
            ("latency_ms_p999", .double(percentile(result.latencies, 0.999), digits: 3)),
            ("errors", .int(result.errors)), ("dropped", .int(result.dropped)),
        ])
        if let baseline {
            row.set("added_ms_p50", .double(p50 - percentile(baseline.latencies, 0.5), digits: 3))
            row.set("added_ms_p99", .double(p99 - percentile(baseline.latencies, 0.99), digits: 3))
        }
        return row
    }
}

/// Resident memory of a process in megabytes.
func residentMegabytes(of pid: Int32) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { return .nan }
    return kilobytes / 1024
}
