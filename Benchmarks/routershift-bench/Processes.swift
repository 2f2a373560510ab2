import AsyncHTTPClient
import Foundation
import NIOCore

/// A server process the benchmark starts and stops: RouterShift, the mock upstream, or a peer.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private let output = Pipe()
    private var buffered = ""

    /// Starts `executable` with `arguments`; standard error passes through to ours.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = output
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

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

    /// SIGTERM, then SIGKILL after ten seconds.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// The mock upstream (`routershift mock-upstream --port 0`) and its address.
func startMockUpstream(binary: String) throws -> (ServerProcess, String) {
    let mock = try ServerProcess(binary, ["mock-upstream", "--port", "0"])
    let line = try mock.line(timeout: 30)
    guard let url = line.split(separator: " ").last.map(String.init), url.hasPrefix("http") else {
        throw BenchmarkError("unexpected mock output: \(line)")
    }
    return (mock, url)
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
        try await Task.sleep(nanoseconds: 100_000_000)
    }
    throw BenchmarkError("\(url) did not become healthy within \(Int(timeout)) s")
}
