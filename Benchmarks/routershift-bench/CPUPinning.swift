import Foundation

/// A set of CPUs, as `taskset -c` and `sched_setaffinity` take them.
struct CPUSet: Sendable, Equatable, CustomStringConvertible {
    let cores: [Int]

    /// The `taskset -c` form, e.g. `0` or `1,3`.
    var list: String { cores.map(String.init).joined(separator: ",") }
    var description: String { "cpu " + list }

    /// The CPUs this process may run on now (`Cpus_allowed_list` in /proc/self/status, e.g. `0-1,4`).
    static var allowed: CPUSet {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else {
            return CPUSet(cores: [0])
        }
        let ranges = line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
        let cores = ranges.split(separator: ",").flatMap { range -> [Int] in
            let bounds = range.split(separator: "-").compactMap { Int($0) }
            guard let low = bounds.first else { return [] }
            return Array(low...(bounds.last ?? low))
        }
        return CPUSet(cores: cores.isEmpty ? [0] : cores)
    }
}

/// Where a load benchmark runs each side so the server's own latency can be read: the server under test
/// alone on one CPU, the load generator (this process) and the mock upstream on the others. Without at
/// least two CPUs, or without `--pin`, everything shares every CPU as before.
struct CorePlan: Sendable {
    /// CPUs for the gateway or the peer being measured; nil when unpinned.
    let server: CPUSet?
    /// CPUs for the load generator and the mock upstream; nil when unpinned.
    let load: CPUSet?

    init(pin: Bool) {
        let allowed = CPUSet.allowed.cores
        guard pin, allowed.count >= 2 else {
            server = nil
            load = nil
            return
        }
        server = CPUSet(cores: [allowed[0]])
        load = CPUSet(cores: Array(allowed.dropFirst()))
    }

    var description: String {
        guard let server, let load else {
            return "unpinned: the server, the mock and the load generator share every CPU"
        }
        return "pinned: server under test on \(server), load generator and mock upstream on \(load)"
    }

    /// Pins every thread of this process (threads started later inherit it from their creator) to the load
    /// CPUs, with `taskset -a -p`. Call before the HTTP client starts its event loops.
    func pinLoadGenerator() {
        guard let load else { return }
        let taskset = Process()
        taskset.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        taskset.arguments = ["-a", "-p", "-c", load.list, String(getpid())]
        taskset.standardOutput = FileHandle.nullDevice
        guard (try? taskset.run()) != nil else {
            progress("taskset is not available: the load generator stays unpinned")
            return
        }
        taskset.waitUntilExit()
    }
}
