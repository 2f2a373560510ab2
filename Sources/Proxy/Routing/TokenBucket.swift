/// A token bucket: `capacity` tokens, refilled continuously at `capacity` per `period`. With a full bucket,
/// exactly `capacity` requests pass at once and the next waits for a refill: "N per minute", exactly.
struct TokenBucket: Sendable {
    let capacity: Double
    let refillPerSecond: Double
    private(set) var tokens: Double
    private var updatedAt: Double

    init(capacity: Int, period: Double = 60, now: Double) {
        self.capacity = Double(capacity)
        refillPerSecond = Double(capacity) / period
        tokens = Double(capacity)
        updatedAt = now
    }

    /// `bucket` for a limit of `capacity` a period: nil without a limit, a full new bucket where there was
    /// none, `bucket` itself at the same capacity, else one of the new capacity that keeps what was used.
    static func limiting(_ bucket: TokenBucket?, to capacity: Int?, period: Double = 60, now: Double)
        -> TokenBucket?
    {
        guard let capacity else { return nil }
        guard var bucket else { return TokenBucket(capacity: capacity, period: period, now: now) }
        guard bucket.capacity != Double(capacity) else { return bucket }
        bucket.refill(now: now)
        var resized = TokenBucket(capacity: capacity, period: period, now: now)
        resized.tokens = max(0, resized.capacity - (bucket.capacity - bucket.tokens))
        return resized
    }

    private mutating func refill(now: Double) {
        if now > updatedAt {
            tokens = min(capacity, tokens + (now - updatedAt) * refillPerSecond)
            updatedAt = now
        }
    }

    /// Whether `amount` tokens are available, without taking them.
    mutating func canTake(_ amount: Double = 1, now: Double) -> Bool {
        refill(now: now)
        return tokens >= min(amount, capacity)
    }

    /// Takes `amount` if available.
    mutating func take(_ amount: Double = 1, now: Double) -> Bool {
        guard canTake(amount, now: now) else { return false }
        tokens -= amount
        return true
    }

    /// Takes `amount` whether or not it is there, as tokens counted after a response are: the bucket may go
    /// negative and then refuses until it refills.
    mutating func debit(_ amount: Double, now: Double) {
        refill(now: now)
        tokens -= amount
    }

    /// Seconds until `amount` tokens are available.
    mutating func secondsUntil(_ amount: Double = 1, now: Double) -> Double {
        refill(now: now)
        let missing = min(amount, capacity) - tokens
        return missing <= 0 ? 0 : missing / refillPerSecond
    }

    /// Tokens used in the current period, for display.
    mutating func used(now: Double) -> Double {
        refill(now: now)
        return capacity - tokens
    }
}
