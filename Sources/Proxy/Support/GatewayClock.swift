import Foundation

/// Time as the gateway sees it, for everything in Proxy that reads the time or waits: monotonic seconds for
/// durations and deadlines, wall-clock seconds for what is stored or shown (creation times, expiry, budget
/// periods, task schedules), and sleeping where the wait is part of the behaviour (backoffs, Retry-After).
/// Tests substitute a clock they move by hand, so breakers, backoffs, rate limits, cache expiry, budget
/// periods and task retries are tested without waiting. Background loops pace themselves in real time and
/// read this clock for what is due.
public protocol GatewayClock: Sendable {
    /// Monotonic seconds from an arbitrary origin.
    func now() -> Double
    /// Seconds since 1970-01-01 UTC.
    func wallTime() -> Double
    func sleep(seconds: Double) async throws
}

/// The system's clocks.
public struct SystemClock: GatewayClock {
    public init() {}

    public func now() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    public func wallTime() -> Double { Date().timeIntervalSince1970 }

    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    }
}
