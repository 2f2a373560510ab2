import RouterShiftConfiguration
import Synchronization

/// One deployment at run time: where requests for a model group may go (a model at a provider), its
/// adapter, its price, and its health: breaker, latency, requests in flight, quotas.
public final class Deployment: Sendable {
    public let name: String
    public let group: String
    /// The model name the provider knows.
    public let model: String
    public let providerName: String
    public let weight: Double
    public let priority: Int
    public let price: ModelPrice?
    let adapter: any ProviderAdapter
    /// Read timeout of the provider: the deadline of one attempt.
    let timeout: Double
    /// Shared with the deployment this one replaced in a configuration reload, if any.
    private let health: HealthCell

    /// - Parameter previous: the same deployment (provider and model) before a configuration reload: its
    ///   breaker, latency averages, quotas and requests in flight carry over, under the new settings.
    init(
        configuration: GatewayConfiguration.Deployment, group: String, adapter: any ProviderAdapter, timeout: Double,
        price: ModelPrice?, breaker: GatewayConfiguration.Breaker, now: Double, previous: Deployment? = nil
    ) {
        name = configuration.name
        self.group = group
        model = configuration.model
        providerName = configuration.provider
        weight = configuration.weight
        priority = configuration.priority
        self.price = price
        self.adapter = adapter
        self.timeout = timeout
        if let previous {
            health = previous.health
            health.state.withLock {
                $0.reconfigure(breaker: breaker, rpm: configuration.rpm, tpm: configuration.tpm, now: now)
            }
        } else {
            health = HealthCell(
                DeploymentHealth(
                    breaker: CircuitBreaker(settings: breaker),
                    requests: configuration.rpm.map { TokenBucket(capacity: $0, now: now) },
                    tokens: configuration.tpm.map { TokenBucket(capacity: $0, now: now) }))
        }
    }

    /// Whether a request may be sent now, and if not, from when.
    func availability(now: Double, estimatedTokens: Int) -> Availability {
        health.state.withLock { $0.availability(now: now, estimatedTokens: estimatedTokens) }
    }

    /// Claims a place for one request: the breaker's probe when half-open, one request of the quota, one in
    /// flight. Fails if another request took the probe or the quota first.
    func begin(now: Double) -> Bool {
        health.state.withLock { health in
            guard health.breaker.reserve(now: now) else { return false }
            if var requests = health.requests {
                guard requests.take(now: now) else {
                    health.breaker.recordNeutral()
                    return false
                }
                health.requests = requests
            }
            health.inFlight += 1
            return true
        }
    }

    /// Ends a request: its outcome feeds the breaker, its duration the latency average.
    func end(_ outcome: Outcome, seconds: Double, isStream: Bool, now: Double) {
        health.state.withLock { health in
            health.inFlight -= 1
            health.total += 1
            switch outcome {
            case .success:
                health.breaker.recordSuccess(now: now)
                health.recordLatency(seconds, isStream: isStream)
            case .failure(let retryAfter):
                health.failures += 1
                health.breaker.recordFailure(now: now)
                if let retryAfter { health.coolingUntil = max(health.coolingUntil, now + retryAfter) }
            case .neutral:
                health.breaker.recordNeutral()
            }
        }
    }

    /// Counts tokens a response used against the deployment's tokens-per-minute quota.
    func recordTokens(_ tokens: Int, now: Double) {
        health.state.withLock { health in
            if var bucket = health.tokens {
                bucket.debit(Double(tokens), now: now)
                health.tokens = bucket
            }
        }
    }

    var latencyEstimate: (latency: Double?, timeToFirstToken: Double?) {
        health.state.withLock { ($0.latency, $0.timeToFirstToken) }
    }

    var inFlight: Int { health.state.withLock { $0.inFlight } }

    /// `closed`, `open` or `half-open`.
    var breakerState: String { health.state.withLock { $0.breaker.state.name } }

    func snapshot(now: Double) -> DeploymentSnapshot {
        health.state.withLock { health in
            let (requests, failures) = health.breaker.window.counts(now: now)
            return DeploymentSnapshot(
                name: name, group: group, provider: providerName, model: model, breaker: health.breaker.state.name,
                breakerReopensIn: health.breaker.reopensAt.map { max(0, $0 - now) },
                latencyMilliseconds: health.latency.map { $0 * 1000 },
                timeToFirstTokenMilliseconds: health.timeToFirstToken.map { $0 * 1000 }, inFlight: health.inFlight,
                recentRequests: requests, recentErrorRate: requests == 0 ? 0 : Double(failures) / Double(requests),
                requestsPerMinuteUsed: health.requests.map {
                    var bucket = $0; return bucket.used(now: now)
                },
                requestsPerMinuteLimit: health.requests?.capacity,
                tokensPerMinuteUsed: health.tokens.map {
                    var bucket = $0; return bucket.used(now: now)
                },
                tokensPerMinuteLimit: health.tokens?.capacity, totalRequests: health.total,
                totalFailures: health.failures)
        }
    }

    enum Outcome {
        case success
        /// A failure that speaks to health; with a Retry-After, the deployment rests that long.
        case failure(retryAfter: Double?)
        /// Neither (a client error, a cancellation).
        case neutral
    }

    enum Availability: Equatable {
        case available
        /// The breaker is open until then.
        case breakerOpen(until: Double)
        /// A quota or Retry-After holds it until then.
        case resting(until: Double)
    }
}

/// A deployment's health behind its mutex, in a reference that a reload's replacement shares.
final class HealthCell: Sendable {
    let state: Mutex<DeploymentHealth>

    init(_ health: DeploymentHealth) { state = Mutex(health) }
}

/// The mutable health of a deployment, guarded by its mutex.
struct DeploymentHealth {
    var breaker: CircuitBreaker
    var requests: TokenBucket?
    var tokens: TokenBucket?
    var inFlight = 0
    var coolingUntil = -Double.infinity
    /// Exponentially weighted moving averages, in seconds.
    var latency: Double?
    var timeToFirstToken: Double?
    var total = 0
    var failures = 0

    /// How much a new observation moves the average.
    static let smoothing = 0.2

    mutating func recordLatency(_ seconds: Double, isStream: Bool) {
        if isStream {
            timeToFirstToken = timeToFirstToken.map { $0 + Self.smoothing * (seconds - $0) } ?? seconds
        } else {
            latency = latency.map { $0 + Self.smoothing * (seconds - $0) } ?? seconds
        }
    }

    /// New breaker settings and quotas from a reload; a quota whose size is unchanged keeps what it used.
    mutating func reconfigure(breaker settings: GatewayConfiguration.Breaker, rpm: Int?, tpm: Int?, now: Double) {
        breaker.reconfigure(settings)
        if requests?.capacity != rpm.map(Double.init) { requests = rpm.map { TokenBucket(capacity: $0, now: now) } }
        if tokens?.capacity != tpm.map(Double.init) { tokens = tpm.map { TokenBucket(capacity: $0, now: now) } }
    }

    mutating func availability(now: Double, estimatedTokens: Int) -> Deployment.Availability {
        guard breaker.allows(now: now) else { return .breakerOpen(until: breaker.reopensAt ?? now) }
        if coolingUntil > now { return .resting(until: coolingUntil) }
        if var bucket = requests {
            let wait = bucket.secondsUntil(now: now)
            requests = bucket
            if wait > 0 { return .resting(until: now + wait) }
        }
        if var bucket = tokens {
            let wait = bucket.secondsUntil(Double(max(estimatedTokens, 1)), now: now)
            tokens = bucket
            if wait > 0 { return .resting(until: now + wait) }
        }
        return .available
    }
}

/// A deployment's state as /admin/routing shows it.
public struct DeploymentSnapshot: Sendable, Codable {
    public let name: String
    public let group: String
    public let provider: String
    public let model: String
    public let breaker: String
    public let breakerReopensIn: Double?
    public let latencyMilliseconds: Double?
    public let timeToFirstTokenMilliseconds: Double?
    public let inFlight: Int
    public let recentRequests: Int
    public let recentErrorRate: Double
    public let requestsPerMinuteUsed: Double?
    public let requestsPerMinuteLimit: Double?
    public let tokensPerMinuteUsed: Double?
    public let tokensPerMinuteLimit: Double?
    public let totalRequests: Int
    public let totalFailures: Int

    enum CodingKeys: String, CodingKey {
        case name, group, provider, model, breaker
        case breakerReopensIn = "breaker_reopens_in_s"
        case latencyMilliseconds = "latency_ms"
        case timeToFirstTokenMilliseconds = "ttft_ms"
        case inFlight = "in_flight"
        case recentRequests = "recent_requests"
        case recentErrorRate = "recent_error_rate"
        case requestsPerMinuteUsed = "rpm_used"
        case requestsPerMinuteLimit = "rpm_limit"
        case tokensPerMinuteUsed = "tpm_used"
        case tokensPerMinuteLimit = "tpm_limit"
        case totalRequests = "total_requests"
        case totalFailures = "total_failures"
    }
}
