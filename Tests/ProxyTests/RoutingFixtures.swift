import NIOCore
import Synchronization

@testable import Proxy
@testable import RouterShiftConfiguration

/// A clock moved by hand: sleeping advances it at once. Its wall time starts at `wallStart` and moves with it.
final class ManualClock: GatewayClock {
    private let time = Mutex<Double>(1000)
    private let wallStart: Double

    init(wallStart: Double = 1_767_225_600) {  // 2026-01-01 00:00 UTC
        self.wallStart = wallStart
    }

    func now() -> Double { time.withLock { $0 } }
    func wallTime() -> Double { wallStart + now() - 1000 }
    func sleep(seconds: Double) async throws { advance(seconds) }
    func advance(_ seconds: Double) { time.withLock { $0 += max(seconds, 0) } }
}

/// An adapter the routing tests never call: they pass the operation to the routing core themselves.
struct UnusedAdapter: ProviderAdapter {
    var name: String { "unused" }
    var kind: GatewayConfiguration.ProviderKind { .openAI }
    func complete(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatResponse
    {
        throw .unsupported("unused")
    }
    func stream(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatChunkSource
    {
        throw .unsupported("unused")
    }
    func forward(_ call: ForwardedCall, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ForwardedResponse
    {
        throw .unsupported("unused")
    }
}

/// A routing core over named deployments, with a manual clock and a fixed seed.
func makeRouting(
    strategy: GatewayConfiguration.Strategy, deployments: [(name: String, weight: Double, rpm: Int?)],
    groupName: String = "model", fallbacks: [String] = [], extraGroups: [(String, [String])] = [],
    settings: GatewayConfiguration.Routing = GatewayConfiguration.Routing(), clock: ManualClock = ManualClock(),
    price: (String) -> ModelPrice? = { _ in nil }
) -> RoutingCore {
    func deployment(_ name: String, group: String, weight: Double, rpm: Int?, priority: Int) -> Deployment {
        Deployment(
            configuration: .init(name: name, provider: "p", model: name, weight: weight, rpm: rpm, priority: priority),
            group: group, adapter: UnusedAdapter(), timeout: 30, price: price(name), breaker: settings.breaker,
            now: clock.now())
    }
    var groups = [
        ModelGroup(
            name: groupName, strategy: strategy,
            deployments: deployments.enumerated().map {
                deployment($1.name, group: groupName, weight: $1.weight, rpm: $1.rpm, priority: $0)
            },
            fallbacks: fallbacks)
    ]
    for (name, members) in extraGroups {
        groups.append(
            ModelGroup(
                name: name, strategy: .failover,
                deployments: members.enumerated().map {
                    deployment($1, group: name, weight: 1, rpm: nil, priority: $0)
                }, fallbacks: []))
    }
    return RoutingCore(groups: groups, settings: settings, clock: clock, seed: 42)
}

/// Routes one request; `behaviour` decides, by deployment name, what the upstream does.
@discardableResult
func route(
    _ core: RoutingCore, model: String = "model",
    _ behaviour: @escaping @Sendable (String) async throws(UpstreamFailure) -> String = { $0 }
) async throws(GatewayError) -> RoutingCore.Routed<String> {
    try await core.execute(model: model) { deployment, _ throws(UpstreamFailure) in try await behaviour(deployment.name)
    }
}
