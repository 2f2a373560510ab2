import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

@Suite struct RoutingStrategyTests {
    /// 4,000 requests over weights 3:1 fall within the 99.9% chi-square bound (one degree of freedom: 10.83).
    @Test func weightedSplitFollowsTheWeights() async throws {
        let core = makeRouting(strategy: .weighted, deployments: [("a", 3, nil), ("b", 1, nil)])
        var counts: [String: Int] = [:]
        for _ in 0..<4000 { counts[try await route(core).value, default: 0] += 1 }
        let expected = ["a": 3000.0, "b": 1000.0]
        let chiSquare = expected.reduce(0.0) { sum, item in
            let observed = Double(counts[item.key] ?? 0)
            return sum + (observed - item.value) * (observed - item.value) / item.value
        }
        #expect(chiSquare < 10.83, "counts \(counts)")
    }

    @Test func roundRobinTakesTurnsInOrder() async throws {
        let core = makeRouting(strategy: .roundRobin, deployments: [("a", 1, nil), ("b", 1, nil), ("c", 1, nil)])
        var order: [String] = []
        for _ in 0..<7 { order.append(try await route(core).value) }
        #expect(order == ["a", "b", "c", "a", "b", "c", "a"])
    }

    @Test func failoverUsesPriorityOrderAndMovesOnWhenTheFirstFails() async throws {
        let core = makeRouting(
            strategy: .failover, deployments: [("primary", 1, nil), ("secondary", 1, nil), ("tertiary", 1, nil)])
        #expect(try await route(core).value == "primary")
        let routed = try await route(core) { name throws(UpstreamFailure) in
            if name == "primary" { throw .status(503, message: "down", retryAfter: nil) }
            return name
        }
        #expect(routed.value == "secondary" && routed.attempts == 2)
    }

    /// The fastest deployment takes the traffic; when it slows down, exploration finds the recovered one.
    @Test func latencyRoutingMovesToTheFasterDeploymentAndBack() async throws {
        let clock = ManualClock()
        var settings = GatewayConfiguration.Routing()
        settings.latencyExploration = 0.1
        let core = makeRouting(
            strategy: .latency, deployments: [("a", 1, nil), ("b", 1, nil)], settings: settings, clock: clock)
        let latencies = LatencyTable(["a": 0.200, "b": 0.020])
        func run(_ count: Int) async throws -> [String: Int] {
            var counts: [String: Int] = [:]
            for _ in 0..<count {
                let served = try await route(core) { name in
                    clock.advance(latencies[name])
                    return name
                }
                counts[served.value, default: 0] += 1
            }
            return counts
        }
        let first = try await run(200)
        #expect((first["b"] ?? 0) > 160, "\(first)")
        latencies["a"] = 0.010
        latencies["b"] = 0.300
        _ = try await run(100)
        let after = try await run(200)
        #expect((after["a"] ?? 0) > 160, "\(after)")
    }

    @Test func costRoutingPrefersTheCheapestAndBreaksTiesByLatency() async throws {
        let prices = ["cheap": ModelPrice(input: 0.1, output: 0.4), "dear": ModelPrice(input: 2.5, output: 10)]
        let core = makeRouting(
            strategy: .cost, deployments: [("dear", 1, nil), ("cheap", 1, nil)], price: { prices[$0] })
        for _ in 0..<5 { #expect(try await route(core).value == "cheap") }
    }

    @Test func leastBusyPicksTheDeploymentWithFewestRequestsInFlight() async throws {
        let core = makeRouting(strategy: .leastBusy, deployments: [("a", 1, nil), ("b", 1, nil)])
        let gate = Gate()
        async let held = route(core) { name in
            await gate.wait()
            return name
        }
        while core.groups["model"]!.deployments.allSatisfy({ $0.inFlight == 0 }) { await Task.yield() }
        let busy = core.groups["model"]!.deployments.first { $0.inFlight == 1 }!.name
        for _ in 0..<5 { #expect(try await route(core).value != busy) }
        await gate.open()
        _ = try await held
    }
}

/// Latencies by deployment name, changed by the test as it runs.
final class LatencyTable: @unchecked Sendable {
    private var values: [String: Double]
    init(_ values: [String: Double]) { self.values = values }
    subscript(name: String) -> Double {
        get { values[name] ?? 0 }
        set { values[name] = newValue }
    }
}

/// Holds tasks until opened.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        waiters.forEach { $0.resume() }
        waiters.removeAll()
    }
}
