import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

@Suite struct CircuitBreakerTests {
    static var settings: GatewayConfiguration.Breaker {
        var settings = GatewayConfiguration.Breaker()
        settings.consecutiveFailures = 3
        settings.cooldown = 30
        settings.minimumRequests = 10
        settings.errorRate = 0.5
        settings.window = 60
        return settings
    }

    @Test func closedOpenHalfOpenClosed() {
        var breaker = CircuitBreaker(settings: Self.settings)
        for second in 0..<3 {
            let reserved = breaker.reserve(now: Double(second))
            #expect(reserved)
            breaker.recordFailure(now: Double(second))
        }
        #expect(breaker.state == .open(until: 32))
        #expect(!breaker.allows(now: 31.9))
        let probe = breaker.reserve(now: 32)
        #expect(probe)
        #expect(breaker.state == .halfOpen(probeInFlight: true))
        let secondProbe = breaker.reserve(now: 32.5)
        #expect(!secondProbe, "one probe at a time")
        breaker.recordSuccess(now: 33)
        #expect(breaker.state == .closed)
    }

    @Test func aFailedProbeOpensItAgain() {
        var breaker = CircuitBreaker(settings: Self.settings)
        for _ in 0..<3 { breaker.recordFailure(now: 0) }
        let probe = breaker.reserve(now: 30)
        #expect(probe)
        breaker.recordFailure(now: 30)
        #expect(breaker.state == .open(until: 60))
    }

    @Test func opensOnTheErrorRateOnceEnoughRequestsPassed() {
        var breaker = CircuitBreaker(settings: Self.settings)
        for index in 0..<9 {
            if index % 2 == 0 {
                breaker.recordFailure(now: Double(index))
            } else {
                breaker.recordSuccess(now: Double(index))
            }
        }
        #expect(breaker.state == .closed, "9 requests are below the minimum of 10")
        breaker.recordFailure(now: 9)
        #expect(breaker.state == .open(until: 39), "6 failures in 10 requests")
    }

    @Test func oldOutcomesLeaveTheWindow() {
        var breaker = CircuitBreaker(settings: Self.settings)
        for index in 0..<9 {
            breaker.recordFailure(now: Double(index) * 20)
            breaker.recordSuccess(now: Double(index) * 20 + 1)
        }
        #expect(breaker.state == .closed)
        #expect(breaker.window.counts(now: 200).requests <= 6)
    }
}

@Suite struct RoutingResilienceTests {
    @Test func breakerOpensAndEveryStrategySkipsTheOpenDeployment() async throws {
        var settings = GatewayConfiguration.Routing()
        settings.breaker.consecutiveFailures = 2
        settings.retries = 0
        for strategy in GatewayConfiguration.Strategy.allCases {
            let core = makeRouting(
                strategy: strategy, deployments: [("bad", 1, nil), ("good", 1, nil)], settings: settings)
            let failing: @Sendable (String) async throws(UpstreamFailure) -> String = { name throws(UpstreamFailure) in
                if name == "bad" { throw .status(500, message: "boom", retryAfter: nil) }
                return name
            }
            var served: [String] = []
            for _ in 0..<30 {
                if let routed = try? await route(core, failing) { served.append(routed.value) }
            }
            let bad = core.snapshot().first { $0.name == "bad" }!
            #expect(bad.breaker == "open", "\(strategy)")
            #expect(bad.totalRequests <= 2, "\(strategy): the open deployment got \(bad.totalRequests) requests")
            #expect(served.suffix(20).allSatisfy { $0 == "good" }, "\(strategy)")
        }
    }

    @Test func whenEveryDeploymentIsOpenTheAnswerIsAnImmediate503WithRetryAfter() async throws {
        var settings = GatewayConfiguration.Routing()
        settings.breaker.consecutiveFailures = 1
        settings.breaker.cooldown = 30
        let clock = ManualClock()
        let core = makeRouting(
            strategy: .weighted, deployments: [("a", 1, nil), ("b", 1, nil)], settings: settings, clock: clock)
        _ = try? await route(core) { _ throws(UpstreamFailure) in throw .connection("refused") }
        clock.advance(10)
        let error = try await #require(throws: GatewayError.self) { try await route(core) }
        #expect(error.status == .serviceUnavailable)
        #expect(error.retryAfter == 20)
        #expect(error.message.contains("20 s"))
        clock.advance(20)
        #expect(try await route(core).value.isEmpty == false, "after the cooldown a probe goes through")
    }

    @Test func deploymentQuotaAllowsExactlyNThenRefuses() async throws {
        let core = makeRouting(strategy: .weighted, deployments: [("only", 1, 5)])
        for _ in 0..<5 { _ = try await route(core) }
        let error = try await #require(throws: GatewayError.self) { try await route(core) }
        #expect(error.status == .tooManyRequests)
        #expect(error.retryAfter == 12, "one request per 12 s refills a 5 rpm quota")
    }

    @Test func quotasSpreadTrafficBeforeTheProviderRefuses() async throws {
        let core = makeRouting(strategy: .failover, deployments: [("first", 1, 3), ("second", 1, nil)])
        var served: [String] = []
        for _ in 0..<6 { served.append(try await route(core).value) }
        #expect(served == ["first", "first", "first", "second", "second", "second"])
    }

    @Test func retryAfterIsHonouredBeforeRetryingTheSameDeployment() async throws {
        let clock = ManualClock()
        let core = makeRouting(strategy: .weighted, deployments: [("only", 1, nil)], clock: clock)
        let calls = Counter()
        let start = clock.now()
        let routed = try await route(core) { name throws(UpstreamFailure) in
            if calls.increment() == 1 { throw .status(429, message: "slow down", retryAfter: 7) }
            return name
        }
        #expect(routed.attempts == 2)
        #expect(clock.now() - start >= 7)
    }

    @Test func clientErrorsAreNotRetried() async throws {
        let core = makeRouting(strategy: .weighted, deployments: [("a", 1, nil), ("b", 1, nil)])
        let calls = Counter()
        let error = try await #require(throws: GatewayError.self) {
            try await route(core) { _ throws(UpstreamFailure) in
                _ = calls.increment()
                throw .status(400, message: "bad field", retryAfter: nil)
            }
        }
        #expect(error.status == .badRequest && error.message == "bad field")
        #expect(calls.value == 1)
    }

    @Test func aFailingGroupFallsBackToItsFallbacks() async throws {
        var settings = GatewayConfiguration.Routing()
        settings.retries = 1
        let core = makeRouting(
            strategy: .weighted, deployments: [("a", 1, nil), ("b", 1, nil)], fallbacks: ["backup"],
            extraGroups: [("backup", ["c"])],
            settings: settings)
        let routed = try await route(core) { name throws(UpstreamFailure) in
            if name != "c" { throw .timeout }
            return name
        }
        #expect(routed.value == "c" && routed.attempts == 3)
    }

    @Test func theRetryBudgetAndDeadlineBoundTheAttempts() async throws {
        var settings = GatewayConfiguration.Routing()
        settings.retries = 2
        let core = makeRouting(strategy: .roundRobin, deployments: [("a", 1, nil), ("b", 1, nil)], settings: settings)
        let calls = Counter()
        let error = try await #require(throws: GatewayError.self) {
            try await route(core) { _ throws(UpstreamFailure) in
                _ = calls.increment()
                throw .status(502, message: "bad gateway", retryAfter: nil)
            }
        }
        #expect(calls.value == 3)
        #expect(error.status == .badGateway)

        settings.deadline = 5
        let clock = ManualClock()
        let slow = makeRouting(
            strategy: .roundRobin, deployments: [("a", 1, nil), ("b", 1, nil)], settings: settings, clock: clock)
        let slowCalls = Counter()
        _ = try? await route(slow) { _ throws(UpstreamFailure) in
            _ = slowCalls.increment()
            clock.advance(4)
            throw .timeout
        }
        #expect(slowCalls.value == 2, "the second attempt ends past the 5 s deadline")
    }

    @Test func aUnknownModelIs404() async {
        let core = makeRouting(strategy: .weighted, deployments: [("a", 1, nil)])
        let error = try? await route(core, model: "nope")
        #expect(error == nil)
        do {
            _ = try await route(core, model: "nope")
        } catch {
            #expect(error.status == .notFound && error.code == "model_not_found")
        }
    }
}

@Suite struct KeyLimiterTests {
    static func key(rpm: Int? = nil, tpm: Int? = nil, parallel: Int? = nil) -> VirtualKey {
        VirtualKey(
            id: "key_1", name: "k", hash: "h", prefix: "p", team: nil, allowedModels: nil, rpm: rpm, tpm: tpm,
            maxParallel: parallel,
            budget: nil, budgetPeriod: nil, createdAt: 0, revokedAt: nil)
    }

    @Test func requestsPerMinuteAreExact() throws {
        let clock = ManualClock()
        let limiter = KeyLimiter(clock: clock)
        for _ in 0..<3 { try limiter.admit(Self.key(rpm: 3), estimatedTokens: 1).release(tokens: 0) }
        let error = try #require(throws: GatewayError.self) { try limiter.admit(Self.key(rpm: 3), estimatedTokens: 1) }
        #expect(error.status == .tooManyRequests && error.retryAfter == 20)
        clock.advance(20)
        #expect(throws: Never.self) { try limiter.admit(Self.key(rpm: 3), estimatedTokens: 1) }
    }

    @Test func concurrentRequestsAreCapped() throws {
        let limiter = KeyLimiter(clock: ManualClock())
        let first = try limiter.admit(Self.key(parallel: 2), estimatedTokens: 1)
        let second = try limiter.admit(Self.key(parallel: 2), estimatedTokens: 1)
        #expect(throws: GatewayError.self) { try limiter.admit(Self.key(parallel: 2), estimatedTokens: 1) }
        first.release(tokens: 0)
        #expect(throws: Never.self) { try limiter.admit(Self.key(parallel: 2), estimatedTokens: 1) }
        second.release(tokens: 0)
    }

    @Test func tokensPerMinuteCountWhatResponsesUsed() throws {
        let clock = ManualClock()
        let limiter = KeyLimiter(clock: clock)
        try limiter.admit(Self.key(tpm: 1000), estimatedTokens: 100).release(tokens: 1000)
        let error = try #require(throws: GatewayError.self) {
            try limiter.admit(Self.key(tpm: 1000), estimatedTokens: 100)
        }
        #expect(error.code == "tokens_per_minute_exceeded")
        clock.advance(6)
        #expect(throws: Never.self) { try limiter.admit(Self.key(tpm: 1000), estimatedTokens: 100) }
    }
}

final class Counter: @unchecked Sendable {
    private(set) var value = 0
    func increment() -> Int {
        value += 1
        return value
    }
}
