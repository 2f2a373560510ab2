import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// A fixed request rate for minutes on end, through cache hits, misses, streams and upstream faults, with
/// the server's resident memory, open descriptors and p99 latency at each minute: what grows shows up.
struct SoakBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract:
            "Minutes of fixed-rate mixed traffic: RSS, open descriptors and p99 each minute, RouterShift and LiteLLM."
    )

    @Option(help: "The routershift binary (release).") var binary = ".build/release/routershift"
    @Option(help: "Minutes of load per engine.") var minutes = 10.0
    @Option(help: "Requests per second, sent on schedule whatever the answers (open loop).") var rate = 50.0
    @Option(help: "Seconds per reported interval.") var interval = 60.0
    @Option(help: "Requests in flight at most; a send due past this is counted as dropped.") var maxInFlight = 512
    @Option(help: "RouterShift's cache.max_entries: reached early, so later growth is not cached data.")
    var maxEntries = 1000
    @Flag(inversion: .prefixedNo, help: "Pin the server to one CPU, load and mock upstream to the others.")
    var pin = true
    @OptionGroup var output: OutputOptions

    func run() async throws {
        ServerRegistry.shared.stopAllOnSignals()
        let cores = CorePlan(pin: pin)
        cores.pinLoadGenerator()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ValidationError("\(binary) not found: swift build -c release --product routershift")
        }
        let client = benchmarkClient(connections: maxInFlight)
        defer { _ = client.shutdown() }
        let (mock, upstream) = try startMockUpstream(binary: binary, cores: cores.load)
        defer { mock.stop() }
        let plan = SoakPlan(rate: rate, seconds: minutes * 60, interval: interval, maxInFlight: maxInFlight)

        var rows = try await soakRouterShift(plan: plan, upstream: upstream, cores: cores, client: client)
        if !output.noPeer {
            rows += try await soakLiteLLM(plan: plan, upstream: upstream, cores: cores, client: client)
        }
        report(rows, cores: cores)
    }

    private func soakRouterShift(plan: SoakPlan, upstream: String, cores: CorePlan, client: HTTPClient) async throws
        -> [ResultRow]
    {
        let port = try freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("soak-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("routershift.yaml")
        try """
        server: { host: 127.0.0.1, port: \(port), master_key: sk-soak-master-key }
        database: { path: \(directory.path)/soak.sqlite }
        providers: [ { name: mock, kind: openai, base_url: "\(upstream)/v1", timeout: 5s } ]
        models:
          - { name: soak, deployments: [ { provider: mock, model: mock-small } ] }
          - { name: soak-failing, deployments: [ { provider: mock, model: "mock-small@fail500" } ] }
          - { name: soak-cut, deployments: [ { provider: mock, model: "mock-small@disconnect" } ] }
        routing: { retries: 0 }
        cache: { max_entries: \(maxEntries) }
        logging: { level: warning }
        """.write(to: config, atomically: true, encoding: .utf8)
        let gateway = try ServerProcess(
            binary, ["serve", "-c", config.path], environment: ["OPENBLAS_NUM_THREADS": "1"], cores: cores.server)
        defer { gateway.stop() }
        let base = "http://127.0.0.1:\(port)"
        try await waitUntilHealthy(base + "/health/ready", client: client, timeout: 120)
        progress("routershift: \(Int(plan.seconds)) s at \(Int(plan.rate)) requests/s")
        return try await plan.run(engine: "routershift", pid: gateway.pid, client: client) { call in
            SoakTraffic.request(call, base: base, key: "sk-soak-master-key", faults: true)
        }
    }

    private func soakLiteLLM(plan: SoakPlan, upstream: String, cores: CorePlan, client: HTTPClient) async throws
        -> [ResultRow]
    {
        let port = try freePort()
        progress("litellm: starting (about 10 s)")
        let peer = try ServerProcess(
            "Benchmarks/peers/run-peer.sh",
            [
                "litellm", "Benchmarks/peers/litellm_peer.py", "--upstream", upstream + "/v1", "--model", "soak",
                "--port", String(port), "--master-key", "sk-soak-master-key",
            ], cores: cores.server)
        defer { peer.stop() }
        let ready = try ResultRow(json: Substring(try peer.line(timeout: 600)))
        let pid = Int32(ready.number("pid") ?? 0)
        peer.adopt(pid)
        progress("litellm: \(Int(plan.seconds)) s at \(Int(plan.rate)) requests/s (no faults: its one model)")
        let base = "http://127.0.0.1:\(port)"
        return try await plan.run(engine: "litellm", pid: pid, client: client) { call in
            SoakTraffic.request(call, base: base, key: "sk-soak-master-key", faults: false)
        }
    }

    private func report(_ rows: [ResultRow], cores: CorePlan) {
        if output.json {
            rows.forEach { print($0.jsonLine()) }
            return
        }
        print("Soak: \(Int(rate)) requests/s for \(minutes) min per engine; mix \(SoakTraffic.mixDescription)")
        print("RouterShift's cache holds at most \(maxEntries) entries (cache.max_entries)")
        print(machineDescription())
        print(cores.description)
        let columns = [
            "engine", "minute", "requests", "p50 ms", "p99 ms", "unexpected", "faults", "dropped", "rss MB", "fds",
        ]
        let fields = [
            "engine", "minute", "requests", "latency_ms_p50", "latency_ms_p99", "unexpected_errors",
            "fault_answers", "dropped", "rss_mb", "open_fds",
        ]
        printTable(
            title: "Each interval: latency of the requests sent in it; RSS and descriptors at its end",
            columns: columns, rows: rows.map { row in fields.map { row[$0]?.text ?? "-" } })
        for engine in ["routershift", "litellm"] {
            let mine = rows.filter { $0["engine"]?.text == engine }
            guard let first = mine.first, let last = mine.last else { continue }
            print(
                "\(engine): rss \(first["rss_mb"]?.text ?? "-") -> \(last["rss_mb"]?.text ?? "-") MB, fds "
                    + "\(first["open_fds"]?.text ?? "-") -> \(last["open_fds"]?.text ?? "-")")
        }
        let last = { (engine: String) in rows.last { $0["engine"]?.text == engine } }
        if let ours = last("routershift"), let theirs = last("litellm") {
            print(
                "last interval: p99 \(ratio(ours.number("latency_ms_p99"), theirs.number("latency_ms_p99"))) of "
                    + "LiteLLM's, rss \(ratio(ours.number("rss_mb"), theirs.number("rss_mb"))) of LiteLLM's")
        }
    }
}

/// The request mix: by call number, so both engines get the same sequence.
enum SoakTraffic {
    static let mixDescription =
        "40% repeated prompts (cache hits), 20% new prompts, 20% new streamed prompts, 10% upstream 500s, "
        + "10% streams the upstream cuts (faults go to the plain model for LiteLLM)"

    /// Whether call `call` asks for an upstream fault, which answers an error by design.
    static func isFault(_ call: Int) -> Bool { call % 10 >= 8 }

    static func request(_ call: Int, base: String, key: String, faults: Bool) -> HTTPClientRequest {
        let slot = call % 10
        let model: String
        let prompt: String
        var stream = false
        switch slot {
        case 0...3:
            model = "soak"
            prompt = "Repeated soak question number \(call % 20): what is the capital of country \(call % 20)?"
        case 4, 5:
            model = "soak"
            prompt = "New soak question \(call): summarise event \(call) in one line."
        case 6, 7:
            (model, stream) = ("soak", true)
            prompt = "New streamed soak question \(call): list \(call % 7 + 1) facts."
        case 8:
            model = faults ? "soak-failing" : "soak"
            prompt = "Failing soak question \(call)."
        default:
            (model, stream) = (faults ? "soak-cut" : "soak", true)
            prompt = "Cut soak question \(call)."
        }
        var request = HTTPClientRequest(url: base + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        let body: [String: Any] = [
            "model": model, "stream": stream, "messages": [["role": "user", "content": prompt]],
        ]
        request.body = .bytes(ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: body)))
        return request
    }
}
