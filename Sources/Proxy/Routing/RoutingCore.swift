import NIOCore
import RouterShiftConfiguration
import Synchronization

/// The one routing loop every endpoint goes through: picks a deployment of the model group by its
/// strategy, skipping open breakers and exhausted quotas; retries retryable failures on other deployments
/// with exponential backoff and jitter, honouring Retry-After; falls back to other groups when a whole group
/// fails; and stops at the request's deadline.
public final class RoutingCore: Sendable {
    /// The model groups and routing settings in force; a configuration reload replaces them, and a request
    /// routes on the ones it started with.
    private struct Table: Sendable {
        var groups: [String: ModelGroup]
        var settings: GatewayConfiguration.Routing
    }

    private let table: Mutex<Table>
    let clock: any GatewayClock
    private let random: Mutex<SeededRandom>
    private let onUpstreamFailure: @Sendable (_ deployment: String, _ kind: String) -> Void

    /// - Parameter onUpstreamFailure: told of every failed attempt: the deployment and the kind of failure.
    init(
        groups: [ModelGroup], settings: GatewayConfiguration.Routing, clock: any GatewayClock, seed: UInt64,
        onUpstreamFailure: @escaping @Sendable (_ deployment: String, _ kind: String) -> Void = { _, _ in }
    ) {
        table = Mutex(Table(groups: Self.byName(groups), settings: settings))
        self.clock = clock
        self.onUpstreamFailure = onUpstreamFailure
        random = Mutex(SeededRandom(seed: seed))
    }

    public var groups: [String: ModelGroup] { table.withLock { $0.groups } }
    var settings: GatewayConfiguration.Routing { table.withLock { $0.settings } }

    /// Puts `groups` and `settings` in force for requests that start from now on; requests already routing
    /// finish on the deployments they had (a removed deployment drains).
    func replace(groups: [ModelGroup], settings: GatewayConfiguration.Routing) {
        let groups = Self.byName(groups)
        table.withLock { $0 = Table(groups: groups, settings: settings) }
    }

    private static func byName(_ groups: [ModelGroup]) -> [String: ModelGroup] {
        Dictionary(groups.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The result of a routed call and who served it.
    public struct Routed<Value: Sendable>: Sendable {
        public let value: Value
        public let deployment: Deployment
        /// Attempts made, the successful one included.
        public let attempts: Int
    }

    /// Runs `operation` on deployments of `model` until one succeeds.
    ///
    /// - Parameters:
    ///   - estimatedTokens: what the request will likely cost, for tokens-per-minute quotas.
    ///   - isStream: streams are timed to their first chunk, and routed on that.
    ///   - operation: one attempt on one deployment, with that attempt's deadline. For a stream it returns
    ///     once the first chunk is in hand, so a stream fails over only before its first byte reaches the client.
    /// - Throws: ``GatewayError``: 404 for an unknown model; 503 when every deployment's breaker is open (with
    ///   when the first reopens); 429 when every deployment is at its quota; otherwise the last failure.
    ///   - retries: overrides the configured retries, as a request whose body can be read only once needs.
    public func execute<Value: Sendable>(
        model: String, estimatedTokens: Int = 0, isStream: Bool = false, retries: Int? = nil,
        operation: (Deployment, NIODeadline) async throws(UpstreamFailure) -> Value
    ) async throws(GatewayError) -> Routed<Value> {
        let (groups, settings) = table.withLock { ($0.groups, $0.settings) }
        let retries = retries ?? settings.retries
        guard let primary = groups[model] else { throw .unknownModel(model) }
        let started = clock.now()
        let deadline = started + settings.deadline
        var chain = [primary]
        for name in primary.fallbacks where retries > 0 && !chain.contains(where: { $0.name == name }) {
            if let group = groups[name] { chain.append(group) }
        }

        var attempts = 0
        var lastFailure: UpstreamFailure?
        var earliestReopen: Double?
        var earliestRested: Double?
        for group in chain {
            var tried: Set<String> = []
            var groupAttempts = 0
            while groupAttempts <= retries {
                let now = clock.now()
                guard now < deadline else { throw lastFailure?.gatewayError ?? UpstreamFailure.timeout.gatewayError }
                var candidates: [Deployment] = []
                var groupRested: Double?
                for deployment in group.deployments {
                    switch deployment.availability(now: now, estimatedTokens: estimatedTokens) {
                    case .available: candidates.append(deployment)
                    case .breakerOpen(let until): earliestReopen = min(earliestReopen ?? until, until)
                    case .resting(let until): groupRested = min(groupRested ?? until, until)
                    }
                }
                if let groupRested { earliestRested = min(earliestRested ?? groupRested, groupRested) }
                if candidates.isEmpty {
                    // A retry waits out a Retry-After or quota that ends within the deadline; a first attempt
                    // does not queue behind quotas, it is refused at once.
                    guard lastFailure != nil, let groupRested, groupRested < deadline else { break }
                    try? await clock.sleep(seconds: groupRested - now)
                    continue
                }
                let fresh = candidates.filter { !tried.contains($0.name) }
                let pick = random.withLock { random in
                    group.choose(
                        from: fresh.isEmpty ? candidates : fresh, isStream: isStream,
                        exploration: settings.latencyExploration,
                        random: &random)
                }
                if fresh.isEmpty {
                    // Every deployment has been tried: wait before trying one again.
                    let pause = backoff(groupAttempts, settings: settings)
                    guard now + pause < deadline else { break }
                    try? await clock.sleep(seconds: pause)
                }
                guard pick.begin(now: clock.now()) else { continue }
                attempts += 1
                groupAttempts += 1
                let attemptStart = clock.now()
                let attemptDeadline = min(deadline, attemptStart + pick.timeout)
                do {
                    let attempt = attempts
                    let nioDeadline = Self.nioDeadline(seconds: attemptDeadline - attemptStart)
                    let value = try await RequestTrace.child("chat \(pick.model)", kind: .client) {
                        span throws(UpstreamFailure) in
                        span?.updateAttributes { attributes in
                            attributes["gen_ai.operation.name"] = "chat"
                            attributes["gen_ai.request.model"] = pick.model
                            attributes["gen_ai.provider.name"] = pick.adapter.kind.semanticConventionName
                            attributes["routershift.deployment"] = pick.name
                            attributes["routershift.breaker.state"] = pick.breakerState
                            attributes["routershift.attempt"] = attempt
                        }
                        return try await operation(pick, nioDeadline)
                    }
                    let end = clock.now()
                    pick.end(.success, seconds: end - attemptStart, isStream: isStream, now: end)
                    return Routed(value: value, deployment: pick, attempts: attempts)
                } catch {
                    let end = clock.now()
                    if error != .cancelled { onUpstreamFailure(pick.name, error.metricKind) }
                    if error.isRetryable {
                        var retryAfter: Double?
                        if case .status(429, _, let after) = error { retryAfter = after ?? 1 }
                        pick.end(
                            .failure(retryAfter: retryAfter), seconds: end - attemptStart, isStream: isStream, now: end)
                    } else {
                        pick.end(.neutral, seconds: end - attemptStart, isStream: isStream, now: end)
                        throw error.gatewayError
                    }
                    tried.insert(pick.name)
                    lastFailure = error
                }
            }
        }
        if let lastFailure { throw lastFailure.gatewayError }
        let now = clock.now()
        if let earliestReopen {
            let seconds = max(1, Int((earliestReopen - now).rounded(.up)))
            throw GatewayError(
                .unavailable,
                "Every deployment of `\(model)`\(chain.count > 1 ? " and its fallbacks" : "") is failing and its circuit is open; "
                    + "the first will be tried again in \(seconds) s.",
                code: "circuit_open", retryAfter: seconds)
        }
        let seconds = max(1, Int(((earliestRested ?? now + 1) - now).rounded(.up)))
        throw GatewayError(
            .rateLimited, "Every deployment of `\(model)` is at its rate limit; retry in \(seconds) s.",
            code: "deployment_rate_limited", retryAfter: seconds)
    }

    /// Exponential backoff with full jitter: up to base x 2^attempt, capped.
    private func backoff(_ attempt: Int, settings: GatewayConfiguration.Routing) -> Double {
        let ceiling = min(settings.backoffMax, settings.backoffBase * Double(1 << min(attempt, 16)))
        return random.withLock { Double.random(in: ceiling / 2...max(ceiling, ceiling / 2 + 1e-9), using: &$0) }
    }

    private static func nioDeadline(seconds: Double) -> NIODeadline {
        .now() + .nanoseconds(Int64(max(seconds, 0.001) * 1e9))
    }

    /// Counts a response's tokens against its deployment's quota.
    public func recordTokens(_ tokens: Int, on deployment: Deployment) {
        deployment.recordTokens(tokens, now: clock.now())
    }

    /// Every deployment's state, for /admin/routing.
    public func snapshot() -> [DeploymentSnapshot] {
        let now = clock.now()
        let groups = groups
        return groups.keys.sorted().flatMap { groups[$0]!.deployments.map { $0.snapshot(now: now) } }
    }
}
