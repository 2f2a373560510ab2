import Synchronization

/// Per-key rate limits: requests per minute, tokens per minute and requests in flight, from the key's own
/// settings as they are at each request. State lives in this process.
final class KeyLimiter: Sendable {
    private struct Usage {
        var requests: TokenBucket?
        var tokens: TokenBucket?
        var inFlight = 0
    }

    private let clock: any GatewayClock
    private let usage = Mutex<[String: Usage]>([:])

    init(clock: any GatewayClock) {
        self.clock = clock
    }

    /// Admits one request of `key`, or throws a 429 saying when to retry.
    func admit(_ key: VirtualKey, estimatedTokens: Int) throws(GatewayError) -> KeyPermit {
        let now = clock.now()
        let refusal: GatewayError? = usage.withLock { table in
            var entry = table[key.id] ?? Usage()
            // The key's limits as they are now: a changed key (PATCH /admin/keys) keeps what it has used.
            entry.requests = TokenBucket.limiting(entry.requests, to: key.rpm, now: now)
            entry.tokens = TokenBucket.limiting(entry.tokens, to: key.tpm, now: now)
            defer { table[key.id] = entry }
            if let limit = key.maxParallel, entry.inFlight >= limit {
                return GatewayError(
                    .rateLimited, "This key already has \(limit) requests in flight, its limit.",
                    code: "concurrency_limit_exceeded",
                    retryAfter: 1)
            }
            if var tokens = entry.tokens, !tokens.canTake(Double(max(estimatedTokens, 1)), now: now) {
                let wait = tokens.secondsUntil(Double(max(estimatedTokens, 1)), now: now)
                entry.tokens = tokens
                return GatewayError(
                    .rateLimited, "This key has used its \(key.tpm ?? 0) tokens per minute.",
                    code: "tokens_per_minute_exceeded",
                    retryAfter: max(1, Int(wait.rounded(.up))))
            }
            if var requests = entry.requests {
                guard requests.take(now: now) else {
                    let wait = requests.secondsUntil(now: now)
                    entry.requests = requests
                    return GatewayError(
                        .rateLimited, "This key has used its \(key.rpm ?? 0) requests per minute.",
                        code: "requests_per_minute_exceeded", retryAfter: max(1, Int(wait.rounded(.up))))
                }
                entry.requests = requests
            }
            entry.inFlight += 1
            return nil
        }
        if let refusal { throw refusal }
        return KeyPermit(limiter: self, keyID: key.id)
    }

    fileprivate func release(_ keyID: String, tokens: Int) {
        let now = clock.now()
        usage.withLock { table in
            guard var entry = table[keyID] else { return }
            entry.inFlight -= 1
            if var bucket = entry.tokens, tokens > 0 {
                bucket.debit(Double(tokens), now: now)
                entry.tokens = bucket
            }
            table[keyID] = entry
        }
    }
}

/// One admitted request: released once, with the tokens it used.
final class KeyPermit: Sendable {
    private let limiter: KeyLimiter?
    private let keyID: String
    private let released = Atomic<Bool>(false)

    init(limiter: KeyLimiter?, keyID: String) {
        self.limiter = limiter
        self.keyID = keyID
    }

    /// A permit for callers without limits (the master key).
    static let unlimited = KeyPermit(limiter: nil, keyID: "")

    func release(tokens: Int) {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        limiter?.release(keyID, tokens: tokens)
    }

    deinit { release(tokens: 0) }
}
