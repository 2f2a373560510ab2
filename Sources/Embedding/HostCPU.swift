import Foundation

/// The machine's CPU as benchmarks name it in their output: the encoder's speed, and the precision
/// `auto` picks, depend on it.
public enum HostCPU {
    /// The model name from /proc/cpuinfo, or `unknown CPU` where there is none.
    public static var modelName: String {
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    }
}
