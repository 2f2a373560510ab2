import RouterShiftConfiguration
import Synchronization

/// A public model name and the deployments that serve it, with the strategy that picks among them.
public final class ModelGroup: Sendable {
    public let name: String
    public let strategy: GatewayConfiguration.Strategy
    public let deployments: [Deployment]
    public let fallbacks: [String]
    public let endpoints: Set<GatewayConfiguration.Endpoint>
    private let roundRobinCounter = Atomic<Int>(0)

    init(
        name: String, strategy: GatewayConfiguration.Strategy, deployments: [Deployment], fallbacks: [String],
        endpoints: Set<GatewayConfiguration.Endpoint> = Set(GatewayConfiguration.Endpoint.allCases)
    ) {
        self.name = name
        self.strategy = strategy
        self.deployments = deployments
        self.fallbacks = fallbacks
        self.endpoints = endpoints
    }

    /// Picks one of `candidates` (a non-empty subset of `deployments`, in configuration order).
    func choose(
        from candidates: [Deployment], isStream: Bool, exploration: Double, random: inout some RandomNumberGenerator
    ) -> Deployment {
        precondition(!candidates.isEmpty)
        switch strategy {
        case .weighted:
            let total = candidates.reduce(0) { $0 + $1.weight }
            guard total > 0 else { return candidates.randomElement(using: &random)! }
            var point = Double.random(in: 0..<total, using: &random)
            for candidate in candidates {
                point -= candidate.weight
                if point < 0 { return candidate }
            }
            return candidates[candidates.count - 1]
        case .roundRobin:
            // Rotates through every deployment in order, skipping those not among the candidates.
            let start = roundRobinCounter.wrappingAdd(1, ordering: .relaxed).oldValue
            for offset in 0..<deployments.count {
                let deployment = deployments[(start + offset) % deployments.count]
                if candidates.contains(where: { $0 === deployment }) { return deployment }
            }
            return candidates[0]
        case .latency:
            if candidates.count > 1 && Double.random(in: 0..<1, using: &random) < exploration {
                return candidates.randomElement(using: &random)!
            }
            // A deployment never measured goes first, so each gets a measurement.
            return candidates.min { expectedLatency($0, isStream: isStream) < expectedLatency($1, isStream: isStream) }!
        case .failover:
            return candidates.min { $0.priority < $1.priority }!
        case .cost:
            return candidates.min { lhs, rhs in
                let (left, right) = (unitPrice(lhs), unitPrice(rhs))
                if abs(left - right) > 1e-12 { return left < right }
                return expectedLatency(lhs, isStream: isStream) < expectedLatency(rhs, isStream: isStream)
            }!
        case .leastBusy:
            let fewest = candidates.map(\.inFlight).min()!
            return candidates.filter { $0.inFlight == fewest }.randomElement(using: &random)!
        }
    }

    private func expectedLatency(_ deployment: Deployment, isStream: Bool) -> Double {
        let estimate = deployment.latencyEstimate
        let primary = isStream ? estimate.timeToFirstToken : estimate.latency
        return primary ?? (isStream ? estimate.latency : estimate.timeToFirstToken) ?? 0
    }

    /// Dollars per million tokens, input and output weighted equally; unknown prices last.
    private func unitPrice(_ deployment: Deployment) -> Double {
        guard let price = deployment.price else { return .greatestFiniteMagnitude }
        return price.input + price.output
    }
}
