import Embedding
import Foundation

/// One embedding engine of `routershift-bench embed`: it times `calls` embed calls of `texts` and returns
/// each call's wall-clock and CPU seconds.
protocol EmbedEngine: AnyObject {
    var engine: String { get }
    var precision: String { get }
    /// Whether this is what RouterShift ships by default (`precision: auto` on this CPU).
    var isDefault: Bool { get }
    func time(_ texts: [String], calls: Int, warmup: Int) async throws -> [(wall: Double, cpu: Double)]
}

/// CPU seconds this process has used, every thread included (getrusage).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// RouterShift's embedder at one precision, called as the cache calls it (`embed`, through its scheduler).
final class LocalEmbedEngine: EmbedEngine {
    let embedder: LocalEmbedder
    let engine = "routershift"
    var precision: String { embedder.precision.rawValue }
    var isDefault: Bool { embedder.precision == EmbeddingPrecision.automatic }

    init(modelDirectory: String, precision: EmbeddingPrecision) throws {
        embedder = try LocalEmbedder(
            files: ModelFiles(directory: URL(fileURLWithPath: modelDirectory)), precision: precision)
    }

    func time(_ texts: [String], calls: Int, warmup: Int) async throws -> [(wall: Double, cpu: Double)] {
        for _ in 0..<warmup { _ = try await embedder.embed(texts) }
        var samples: [(wall: Double, cpu: Double)] = []
        for _ in 0..<calls {
            let cpu = processCPUSeconds()
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try await embedder.embed(texts)
            let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            samples.append((wall, processCPUSeconds() - cpu))
        }
        return samples
    }
}

/// The onnxruntime peer process (Benchmarks/peers/onnxruntime_peer.py --serve), which holds an fp32 and an
/// int8 (quantize_dynamic) session and times calls on request. ``stop()`` ends it; so does deinit.
final class OnnxRuntimePeer: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered = Data()
    private(set) var version = "?"

    init(modelDirectory: String) throws {
        let runner = URL(fileURLWithPath: "Benchmarks/peers/run-peer.sh")
        guard FileManager.default.isExecutableFile(atPath: runner.path) else {
            throw BenchmarkError("Benchmarks/peers/run-peer.sh not found: run the benchmark from the repository root")
        }
        process.executableURL = runner
        process.arguments = [
            "onnxruntime", "Benchmarks/peers/onnxruntime_peer.py", "--model-dir", modelDirectory, "--serve",
        ]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let ready = try reply()
        guard ready["ready"] as? Bool == true else { throw BenchmarkError("onnxruntime peer did not start: \(ready)") }
        version = ready["version"] as? String ?? "?"
    }

    deinit { stop() }

    /// Closes the peer's input, which ends it, and kills it if it is still running after ten seconds.
    func stop() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func time(_ texts: [String], precision: String, calls: Int, warmup: Int) throws -> [(wall: Double, cpu: Double)] {
        let request: [String: Any] = ["precision": precision, "texts": texts, "calls": calls, "warmup": warmup]
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: request) + Data("\n".utf8))
        let answer = try reply()
        guard let wall = answer["wall_s"] as? [Double], let cpu = answer["cpu_s"] as? [Double], wall.count == calls
        else { throw BenchmarkError("onnxruntime peer answered \(answer)") }
        return Array(zip(wall, cpu).map { (wall: $0, cpu: $1) })
    }

    /// The next JSON line the peer prints.
    private func reply() throws -> [String: Any] {
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffered[buffered.startIndex..<newline]
                buffered.removeSubrange(buffered.startIndex...newline)
                guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] else {
                    throw BenchmarkError("onnxruntime peer printed a line that is not a JSON object")
                }
                return object
            }
            let data = output.fileHandleForReading.availableData
            guard !data.isEmpty else {
                process.waitUntilExit()
                throw BenchmarkError("onnxruntime peer exited with status \(process.terminationStatus)")
            }
            buffered += data
        }
    }
}

/// One of the peer's two sessions.
final class PeerEmbedEngine: EmbedEngine {
    let peer: OnnxRuntimePeer
    let engine = "onnxruntime"
    let precision: String
    let isDefault = false

    init(peer: OnnxRuntimePeer, precision: String) {
        self.peer = peer
        self.precision = precision
    }

    func time(_ texts: [String], calls: Int, warmup: Int) async throws -> [(wall: Double, cpu: Double)] {
        try peer.time(texts, precision: precision, calls: calls, warmup: warmup)
    }
}
