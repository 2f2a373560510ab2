import RouterShiftConfiguration

/// The checks every request makes before it costs anything, in order: the model exists, serves the
/// endpoint asked for and the key may use it; the key and its team are within budget; the key is within
/// its rate limits. The permit holds the key's concurrency slot and token estimate until released.
struct Admission: Sendable {
    let routing: RoutingCore
    let limiter: KeyLimiter
    let spend: SpendLedger

    func admit(
        model: String, for endpoint: GatewayConfiguration.Endpoint, principal: Principal, estimatedTokens: Int
    ) throws(GatewayError) -> KeyPermit {
        try routing.authorize(model: model, for: endpoint, principal: principal)
        try spend.check(principal)
        guard case .key(let key) = principal else { return .unlimited }
        return try limiter.admit(key, estimatedTokens: estimatedTokens)
    }
}
