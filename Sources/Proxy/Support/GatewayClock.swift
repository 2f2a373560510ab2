import Foundation

/// Time as the routing core sees it: monotonic seconds, and sleeping. Tests substitute a clock they move
/// by hand, so breakers, backoffs and rate limits are tested without waiting.
public protocol RoutingClock: Sendable {
    func now() -> Double
    func sleep(seconds: Double) async throws
}

/// The monotonic system clock.
public struct SystemClock: RoutingClock {
    public init() {}

    public func now() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    }
}
