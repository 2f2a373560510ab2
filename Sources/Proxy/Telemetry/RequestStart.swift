/// When a request started, by the gateway's clock: the wall time its log record carries, and the monotonic
/// reading its latencies are measured from (so a wall-clock step does not skew them).
struct RequestStart: Sendable {
    let clock: any GatewayClock
    let wallTime: Double
    private let monotonic: Double

    init(clock: any GatewayClock) {
        self.clock = clock
        wallTime = clock.wallTime()
        monotonic = clock.now()
    }

    /// Milliseconds since the start.
    func elapsedMilliseconds() -> Double { (clock.now() - monotonic) * 1000 }
}
