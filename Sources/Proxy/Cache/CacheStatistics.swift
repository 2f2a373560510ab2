import Synchronization

/// Counters since the last flush, and windows of recent lookup and verification latencies for p50/p99.
final class CacheStatistics: Sendable {
    struct Counts: Sendable, Equatable {
        var exactHits = 0
        var semanticHits = 0
        var misses = 0
        var tokensSaved = 0
        var costSaved = 0.0
        /// Candidates the verifier scored.
        var verifications = 0
    }

    /// The most recent `window` latencies, overwritten in a ring.
    private struct LatencyWindow {
        var values: [Double] = []
        var next = 0

        mutating func record(_ milliseconds: Double) {
            if values.count < CacheStatistics.window {
                values.append(milliseconds)
            } else {
                values[next] = milliseconds
            }
            next = (next + 1) % CacheStatistics.window
        }

        var percentiles: (p50: Double, p99: Double)? {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return nil }
            func rank(_ fraction: Double) -> Double {
                sorted[min(sorted.count - 1, Int(fraction * Double(sorted.count)))]
            }
            return (rank(0.5), rank(0.99))
        }
    }

    private struct State {
        var pending = Counts()
        var lookups = LatencyWindow()
        var verifications = LatencyWindow()
    }

    private let state = Mutex(State())
    static let window = 4096

    func recordHit(semantic: Bool, tokens: Int, cost: Double) {
        state.withLock { state in
            if semantic { state.pending.semanticHits += 1 } else { state.pending.exactHits += 1 }
            state.pending.tokensSaved += tokens
            state.pending.costSaved += cost
        }
    }

    func recordMiss() {
        state.withLock { $0.pending.misses += 1 }
    }

    /// A whole lookup: exact layer, embedding, index search, verification.
    func recordLookup(milliseconds: Double) {
        state.withLock { $0.lookups.record(milliseconds) }
    }

    /// One candidate's verification: reading its token states, the features and the score.
    func recordVerification(milliseconds: Double) {
        state.withLock { state in
            state.verifications.record(milliseconds)
            state.pending.verifications += 1
        }
    }

    /// The counts since the last call, for the database.
    func takePending() -> Counts {
        state.withLock { state in
            defer { state.pending = Counts() }
            return state.pending
        }
    }

    /// p50 and p99 of the recent lookups, in milliseconds.
    func lookupPercentiles() -> (p50: Double, p99: Double)? {
        state.withLock { $0.lookups.percentiles }
    }

    /// p50 and p99 of the recent verifications, in milliseconds.
    func verificationPercentiles() -> (p50: Double, p99: Double)? {
        state.withLock { $0.verifications.percentiles }
    }
}
