import Foundation

/// The process metrics Prometheus client libraries export under their standard names, read from Linux's
/// /proc at scrape time (a few small file reads). Elsewhere, or when /proc is unreadable, nothing is
/// reported rather than a wrong figure.
struct ProcessMetrics: Equatable {
    var residentMemoryBytes: Double
    var virtualMemoryBytes: Double
    var cpuSeconds: Double
    var startTimeSeconds: Double
    var openFileDescriptors: Double
    var maxFileDescriptors: Double?

    /// The figures of this process now; nil when /proc is not there.
    static func read(proc: String = "/proc") -> ProcessMetrics? {
        guard let stat = try? String(contentsOfFile: "\(proc)/self/stat", encoding: .utf8),
            let system = try? String(contentsOfFile: "\(proc)/stat", encoding: .utf8),
            let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/self/fd")
        else { return nil }
        let limits = try? String(contentsOfFile: "\(proc)/self/limits", encoding: .utf8)
        return parse(
            stat: stat, system: system, openFileDescriptors: descriptors.count, limits: limits,
            ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))), pageSize: Double(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// The figures in `/proc/self/stat` (see proc(5): fields after the command name, which may hold spaces
    /// and parentheses, so they are counted from its last `)`), the boot time in `/proc/stat` and the open-files
    /// limit in `/proc/self/limits`.
    static func parse(
        stat: String, system: String, openFileDescriptors: Int, limits: String?, ticksPerSecond: Double,
        pageSize: Double
    ) -> ProcessMetrics? {
        guard let close = stat.lastIndex(of: ")"), ticksPerSecond > 0 else { return nil }
        // fields[0] is field 3 (state): utime is 14, stime 15, starttime 22, vsize 23, rss 24.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let user = Double(fields[11]), let kernel = Double(fields[12]),
            let started = Double(fields[19]), let virtual = Double(fields[20]), let resident = Double(fields[21]),
            let bootLine = system.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
            let boot = Double(bootLine.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        else { return nil }
        let maxFiles = limits?.split(separator: "\n").first { $0.hasPrefix("Max open files") }
            .flatMap { line in line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first }
            .flatMap { Double($0) }
        return ProcessMetrics(
            residentMemoryBytes: resident * pageSize, virtualMemoryBytes: virtual,
            cpuSeconds: (user + kernel) / ticksPerSecond, startTimeSeconds: boot + started / ticksPerSecond,
            openFileDescriptors: Double(openFileDescriptors), maxFileDescriptors: maxFiles)
    }

    /// The Prometheus text exposition of these figures, with HELP and TYPE lines.
    var exposition: String {
        var families: [(String, String, String, Double)] = [
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentMemoryBytes),
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtualMemoryBytes),
            ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpuSeconds),
            (
                "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
                startTimeSeconds
            ),
            ("process_open_fds", "gauge", "Number of open file descriptors.", openFileDescriptors),
        ]
        if let maxFileDescriptors {
            families.append(
                ("process_max_fds", "gauge", "Maximum number of open file descriptors.", maxFileDescriptors))
        }
        return families.map { name, type, help, value in
            "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(PrometheusText.number(value))\n"
        }.joined()
    }
}
