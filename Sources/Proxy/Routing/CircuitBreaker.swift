import RouterShiftConfiguration

/// A circuit breaker for one deployment: closed while it works; open for a cooldown after N consecutive
/// failures, or an error rate over a window once enough requests passed; then half-open, letting one probe
/// through, which closes it on success and opens it again on failure.
struct CircuitBreaker: Sendable {
    enum State: Sendable, Equatable {
        case closed
        case open(until: Double)
        case halfOpen(probeInFlight: Bool)

        var name: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half-open"
            }
        }
    }

    private(set) var settings: GatewayConfiguration.Breaker
    private(set) var state = State.closed
    private(set) var consecutiveFailures = 0
    private(set) var window: OutcomeWindow

    init(settings: GatewayConfiguration.Breaker) {
        self.settings = settings
        window = OutcomeWindow(seconds: settings.window)
    }

    /// Takes new settings and keeps its state; the error-rate window starts afresh if its length changed.
    mutating func reconfigure(_ settings: GatewayConfiguration.Breaker) {
        if settings.window != self.settings.window { window = OutcomeWindow(seconds: settings.window) }
        self.settings = settings
    }

    /// Whether a request may be sent now (without reserving the half-open probe).
    func allows(now: Double) -> Bool {
        switch state {
        case .closed: true
        case .open(let until): now >= until
        case .halfOpen(let probeInFlight): !probeInFlight
        }
    }

    /// The moment an open breaker lets a probe through.
    var reopensAt: Double? {
        if case .open(let until) = state { return until }
        return nil
    }

    /// Claims the right to send: in half-open, only one request at a time (the probe).
    mutating func reserve(now: Double) -> Bool {
        switch state {
        case .closed:
            return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen(probeInFlight: true)
            return true
        case .halfOpen(let probeInFlight):
            guard !probeInFlight else { return false }
            state = .halfOpen(probeInFlight: true)
            return true
        }
    }

    mutating func recordSuccess(now: Double) {
        window.record(failed: false, now: now)
        consecutiveFailures = 0
        if case .halfOpen = state { state = .closed }
    }

    mutating func recordFailure(now: Double) {
        window.record(failed: true, now: now)
        consecutiveFailures += 1
        switch state {
        case .halfOpen:
            open(now: now)
        case .closed:
            let (requests, failures) = window.counts(now: now)
            let rateTripped =
                requests >= settings.minimumRequests
                && Double(failures) / Double(requests) >= settings.errorRate
            if consecutiveFailures >= settings.consecutiveFailures || rateTripped { open(now: now) }
        case .open:
            break
        }
    }

    /// An outcome that does not speak to the deployment's health (the client cancelled, a 4xx): frees the
    /// half-open probe without judging.
    mutating func recordNeutral() {
        if case .halfOpen = state { state = .halfOpen(probeInFlight: false) }
    }

    private mutating func open(now: Double) {
        state = .open(until: now + settings.cooldown)
        window.reset()
    }
}

/// Successes and failures over the last `seconds`, in 30 buckets: constant memory at any request rate.
struct OutcomeWindow: Sendable {
    private struct Bucket {
        var start: Double = -.infinity
        var successes = 0
        var failures = 0
    }

    private let bucketSeconds: Double
    private var buckets: [Bucket]

    init(seconds: Double) {
        bucketSeconds = max(seconds, 0.03) / 30
        buckets = Array(repeating: Bucket(), count: 30)
    }

    mutating func record(failed: Bool, now: Double) {
        let index = Int((now / bucketSeconds).rounded(.down))
        let slot = ((index % buckets.count) + buckets.count) % buckets.count
        let start = Double(index) * bucketSeconds
        if buckets[slot].start != start { buckets[slot] = Bucket(start: start) }
        if failed {
            buckets[slot].failures += 1
        } else {
            buckets[slot].successes += 1
        }
    }

    /// Requests and failures within the window ending at `now`.
    func counts(now: Double) -> (requests: Int, failures: Int) {
        let oldest = now - bucketSeconds * Double(buckets.count)
        var requests = 0
        var failures = 0
        for bucket in buckets where bucket.start > oldest {
            requests += bucket.successes + bucket.failures
            failures += bucket.failures
        }
        return (requests, failures)
    }

    mutating func reset() {
        buckets = Array(repeating: Bucket(), count: buckets.count)
    }
}
