import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// A server process the benchmark starts and stops: RouterShift, the mock upstream, or a peer.
///
/// Foundation starts every child as the leader of a process group of its own, so `stop()` signals the whole
/// group (a peer's wrapper script and whatever it spawned), and a benchmark interrupted by SIGINT or SIGTERM
/// stops every live server before it exits (``ServerRegistry``). A peer that starts its server in a session
/// of its own reports the server's pid; ``adopt(_:)`` makes that group part of this process's shutdown too,
/// so no peer outlives the benchmark whatever its wrapper does.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private let output = Pipe()
    private var buffered = ""
    private let companions = Mutex<[Int32]>([])

    /// Starts `executable` with `arguments`; standard error passes through to ours.
    ///
    /// - Parameter cores: CPUs to pin the server to (`taskset -c`), or nil for no pinning.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], cores: CPUSet? = nil)
        throws
    {
        if let cores {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", cores.list, executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = output
        try process.run()
        ServerRegistry.shared.add(self)
    }

    var pid: Int32 { process.processIdentifier }

    /// Makes the process group led by `pid` (a peer's server, started in a session of its own) stop with
    /// this process.
    func adopt(_ pid: Int32) {
        guard pid > 0 else { return }
        companions.withLock { $0.append(pid) }
    }

    /// The next line the process prints, waiting at most `timeout` seconds.
    func line(timeout: Double) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffered.firstIndex(of: "\n") {
                let line = String(buffered[..<newline])
                buffered.removeSubrange(...newline)
                return line
            }
            guard Date() < deadline, process.isRunning else {
                throw BenchmarkError(
                    "\(process.executableURL?.lastPathComponent ?? "process") printed no line in \(Int(timeout)) s")
            }
            let data = output.fileHandleForReading.availableData
            if data.isEmpty {
                Thread.sleep(forTimeInterval: 0.05)
            } else {
                buffered += String(decoding: data, as: UTF8.self)
            }
        }
    }

    /// Resident memory in megabytes, from /proc.
    var residentMegabytes: Double { routershift_bench.residentMegabytes(of: pid) }

    /// SIGTERM to the process group, SIGKILL to it after `grace` seconds, then the same for every adopted
    /// group. The grace outlasts a peer wrapper's own stop timeout (10 s), so the wrapper can stop its server
    /// before it is killed itself; the adopted groups are killed whatever happened.
    func stop(grace: Double = 15) {
        if process.isRunning {
            kill(-pid, SIGTERM)
            let deadline = Date().addingTimeInterval(grace)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            kill(-pid, SIGKILL)
            process.waitUntilExit()
        }
        let adopted = companions.withLock { groups -> [Int32] in
            let taken = groups
            groups.removeAll()
            return taken
        }
        for group in adopted { stopGroup(group, grace: 2) }
        ServerRegistry.shared.remove(self)
    }

    deinit { stop() }
}

/// SIGTERM to the process group `group`, then SIGKILL once it is gone or after `grace` seconds.
private func stopGroup(_ group: Int32, grace: Double) {
    guard kill(-group, SIGTERM) == 0 else { return }
    let deadline = Date().addingTimeInterval(grace)
    while kill(-group, 0) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    kill(-group, SIGKILL)
}

/// The servers alive right now, stopped if the benchmark is interrupted: without this, Ctrl-C would skip
/// every `defer` and leave the gateway, the mock and the peers running.
final class ServerRegistry: Sendable {
    static let shared = ServerRegistry()

    private let servers = Mutex<[ObjectIdentifier: ServerProcess]>([:])
    /// Kept alive for the life of the process; written once, before any signal can arrive.
    nonisolated(unsafe) private static var signalSources: [any DispatchSourceSignal] = []

    func add(_ server: ServerProcess) { servers.withLock { $0[ObjectIdentifier(server)] = server } }
    func remove(_ server: ServerProcess) { _ = servers.withLock { $0.removeValue(forKey: ObjectIdentifier(server)) } }

    /// Stops every live server on SIGINT, SIGTERM or SIGHUP, then exits with 128 + the signal.
    func stopAllOnSignals() {
        let queue = DispatchQueue(label: "routershift-bench.signals")
        let installed = [SIGINT, SIGTERM, SIGHUP].map { signalNumber -> any DispatchSourceSignal in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [self] in
                progress("signal \(signalNumber): stopping the servers this benchmark started")
                for server in servers.withLock({ Array($0.values) }) { server.stop(grace: 5) }
                exit(128 + signalNumber)
            }
            source.resume()
            return source
        }
        Self.signalSources = installed
    }
}

/// The mock upstream (`routershift mock-upstream --port 0`) and its address.
func startMockUpstream(binary: String, cores: CPUSet? = nil) throws -> (ServerProcess, String) {
    let mock = try ServerProcess(binary, ["mock-upstream", "--port", "0"], cores: cores)
    let line = try mock.line(timeout: 30)
    guard let url = line.split(separator: " ").last.map(String.init), url.hasPrefix("http") else {
        throw BenchmarkError("unexpected mock output: \(line)")
    }
    return (mock, url)
}

/// A RouterShift gateway a benchmark starts in front of the mock upstream, serving the model group `bench`
/// with the master key `sk-bench-master-key`; its configuration is a temporary file, and so is its database
/// unless the benchmark names one. ``stop()`` removes both temporary files.
struct BenchGateway {
    let process: ServerProcess
    let base: String
    let config: URL
    /// Seconds from starting the process to its first healthy answer.
    let startSeconds: Double
    private let ownsDatabase: Bool

    /// Starts the gateway with these `cache` settings (YAML flow) and waits until it is healthy.
    ///
    /// - Parameters:
    ///   - database: the SQLite file, kept at `stop()`; nil for a temporary one.
    ///   - extra: more top-level YAML lines (`telemetry: ...`).
    ///   - environment: added to the gateway's (`OPENBLAS_NUM_THREADS=1` is always set).
    static func start(
        binary: String, upstream: String, cache: String, cores: CPUSet?, client: HTTPClient, database: String? = nil,
        extra: String = "", environment: [String: String] = [:], timeout: Double = 60
    ) async throws -> BenchGateway {
        let port = try freePort()
        let config = try writeConfiguration(
            port: port, upstream: upstream, cache: cache, database: database, extra: extra)
        let begin = DispatchTime.now().uptimeNanoseconds
        let process = try ServerProcess(
            binary, ["serve", "-c", config.path],
            environment: environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { _, fixed in fixed }, cores: cores)
        let base = "http://127.0.0.1:\(port)"
        do {
            try await waitUntilHealthy(base + "/health", client: client, timeout: timeout)
        } catch {
            BenchGateway(process: process, base: base, config: config, startSeconds: 0, ownsDatabase: database == nil)
                .stop()
            throw error
        }
        return BenchGateway(
            process: process, base: base, config: config,
            startSeconds: Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9, ownsDatabase: database == nil)
    }

    /// A temporary configuration file for a gateway on `port` (see ``start(binary:upstream:cache:cores:client:database:extra:environment:timeout:)``).
    static func writeConfiguration(port: Int, upstream: String, cache: String, database: String?, extra: String)
        throws -> URL
    {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bench-gateway-\(UUID().uuidString).yaml")
        try """
        server: { host: 127.0.0.1, port: \(port), master_key: sk-bench-master-key }
        database: { path: \(database ?? config.path + ".sqlite") }
        providers: [ { name: mock, kind: openai, base_url: "\(upstream)/v1" } ]
        models: [ { name: bench, deployments: [ { provider: mock, model: mock-small } ] } ]
        cache: \(cache)
        logging: { level: warning }
        \(extra)
        """.write(to: config, atomically: true, encoding: .utf8)
        return config
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: config.path)
        guard ownsDatabase else { return }
        for suffix in [".sqlite", ".sqlite-wal", ".sqlite-shm"] {
            try? FileManager.default.removeItem(atPath: config.path + suffix)
        }
    }
}

/// A free TCP port on the loopback interface.
func freePort() throws -> Int {
    let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
    }
    guard bound == 0 else { throw BenchmarkError("cannot bind a loopback port") }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Polls `url` until it answers 200.
func waitUntilHealthy(_ url: String, client: HTTPClient, timeout: Double) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(2)),
            response.status.code == 200
        {
            return
        }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    throw BenchmarkError("\(url) did not become healthy within \(Int(timeout)) s")
}
