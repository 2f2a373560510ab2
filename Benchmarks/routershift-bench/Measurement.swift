import CVectorKernels
import Embedding
import Foundation

/// Wall-clock seconds taken by `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The process's resident memory in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The process's peak resident memory in bytes (getrusage).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

/// The `fraction` quantile of `values` (nearest rank).
func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

/// Runs a peer script through Benchmarks/peers/run-peer.sh, which keeps the peer's Python environment,
/// and returns its JSON Lines rows. The peer's progress goes straight to standard error.
func runPeer(_ name: String, script: String, arguments: [String]) throws -> [ResultRow] {
    let runner = URL(fileURLWithPath: "Benchmarks/peers/run-peer.sh")
    guard FileManager.default.isExecutableFile(atPath: runner.path) else {
        throw BenchmarkError("Benchmarks/peers/run-peer.sh not found: run the benchmark from the repository root")
    }
    let process = Process()
    process.executableURL = runner
    process.arguments = [name, "Benchmarks/peers/\(script)"] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchmarkError("peer \(name) exited with status \(process.terminationStatus)")
    }
    return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { try ResultRow(json: $0) }
}

/// Writes Float32 rows as little-endian bytes, the format the peers read.
func writeRows(_ rows: [[Float]], to url: URL) throws {
    var data = Data(capacity: rows.count * (rows.first?.count ?? 0) * 4)
    for row in rows { row.withUnsafeBytes { data.append(contentsOf: $0) } }
    try data.write(to: url)
}

/// Reads little-endian Float32 rows of `dimension` floats.
func readRows(from url: URL, dimension: Int) throws -> [[Float]] {
    let data = try Data(contentsOf: url)
    guard dimension > 0, data.count % (dimension * 4) == 0 else {
        throw BenchmarkError("\(url.path) holds \(data.count) bytes, not a whole number of \(dimension)-float rows")
    }
    return data.withUnsafeBytes { raw in
        let floats = raw.bindMemory(to: Float.self)
        return stride(from: 0, to: floats.count, by: dimension).map { Array(floats[$0..<$0 + dimension]) }
    }
}

/// The CPU, the SIMD kernel chosen for it, and the OpenBLAS settings that cap its kernels.
func machineDescription() -> String {
    let environment = ProcessInfo.processInfo.environment
    let cpu = HostCPU.modelName
    let settings = ["OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"].map {
        "\($0)=\(environment[$0] ?? "unset")"
    }
    return "machine: \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, SIMD kernel "
        + "\(String(cString: rs_kernel_name())), " + settings.joined(separator: " ")
}
