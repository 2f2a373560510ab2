import AsyncHTTPClient
import Foundation
import Synchronization

/// An open-loop soak: `rate` requests/s for `seconds`, reported per `interval`.
struct SoakPlan: Sendable {
    let rate: Double
    let seconds: Double
    let interval: Double
    let maxInFlight: Int

    /// What the requests sent in one interval did.
    struct Interval: Sendable {
        var latencies: [Double] = []
        var unexpected = 0
        var faults = 0
        var dropped = 0
    }

    /// Sends the calls on schedule to the server `pid`, and samples its memory and descriptors at the end
    /// of each interval; one row per interval.
    func run(
        engine: String, pid: Int32, client: HTTPClient, request: @escaping @Sendable (Int) -> HTTPClientRequest
    ) async throws -> [ResultRow] {
        let total = Int(rate * seconds)
        let count = max(1, Int((seconds / interval).rounded(.up)))
        let tally = SoakTally(intervals: count)
        let start = DispatchTime.now().uptimeNanoseconds
        let (rate, interval, maxInFlight) = (self.rate, self.interval, self.maxInFlight)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<count {
                    await Self.sleep(until: start + UInt64(Double(index + 1) * interval * 1e9))
                    let sample = (residentMegabytes(of: pid), openDescriptors(of: pid))
                    tally.samples.withLock { $0[index] = sample }
                }
            }
            for call in 0..<total {
                let due = start + UInt64(Double(call) * 1e9 / rate)
                await Self.sleep(until: due)
                let index = min(count - 1, Int(Double(call) / rate / interval))
                guard tally.inFlight.add(1, ordering: .relaxed).newValue <= maxInFlight else {
                    tally.inFlight.subtract(1, ordering: .relaxed)
                    tally.intervals.withLock { $0[index].dropped += 1 }
                    continue
                }
                group.addTask {
                    defer { tally.inFlight.subtract(1, ordering: .relaxed) }
                    let succeeded = await Self.send(request(call), client: client)
                    let latency = Double(DispatchTime.now().uptimeNanoseconds - due) / 1e6
                    tally.intervals.withLock { tallies in
                        if SoakTraffic.isFault(call) {
                            tallies[index].faults += 1
                        } else if succeeded {
                            tallies[index].latencies.append(latency)
                        } else {
                            tallies[index].unexpected += 1
                        }
                    }
                }
            }
        }
        let tallies = tally.intervals.withLock { $0 }
        let sampled = tally.samples.withLock { $0 }
        return tallies.indices.map { index in
            let tally = tallies[index]
            return ResultRow([
                ("engine", .string(engine)), ("minute", .double(Double(index + 1) * interval / 60, digits: 1)),
                ("requests", .int(tally.latencies.count + tally.unexpected + tally.faults)),
                ("latency_ms_p50", .double(percentile(tally.latencies, 0.5), digits: 2)),
                ("latency_ms_p99", .double(percentile(tally.latencies, 0.99), digits: 2)),
                ("unexpected_errors", .int(tally.unexpected)), ("fault_answers", .int(tally.faults)),
                ("dropped", .int(tally.dropped)), ("rss_mb", .double(sampled[index].rss, digits: 1)),
                ("open_fds", .int(sampled[index].fds)), ("rate", .double(rate, digits: 0)),
            ])
        }
    }

    /// True for a 200 whose body arrived whole (a stream's included).
    private static func send(_ request: HTTPClientRequest, client: HTTPClient) async -> Bool {
        guard let response = try? await client.execute(request, timeout: .seconds(60)) else { return false }
        guard (try? await response.body.collect(upTo: 16 << 20)) != nil else { return false }
        return response.status == .ok
    }

    private static func sleep(until uptime: UInt64) async {
        let now = DispatchTime.now().uptimeNanoseconds
        if uptime > now { try? await Task.sleep(nanoseconds: uptime - now) }
    }
}

/// What a soak's concurrent senders and its sampler record.
private final class SoakTally: Sendable {
    let intervals: Mutex<[SoakPlan.Interval]>
    let samples: Mutex<[(rss: Double, fds: Int)]>
    let inFlight = Atomic<Int>(0)

    init(intervals count: Int) {
        intervals = Mutex([SoakPlan.Interval](repeating: SoakPlan.Interval(), count: count))
        samples = Mutex([(rss: Double, fds: Int)](repeating: (.nan, -1), count: count))
    }
}

/// Descriptors the process `pid` holds open, from /proc; -1 when it cannot be read.
func openDescriptors(of pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
}
