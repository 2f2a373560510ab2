import Synchronization

/// Counters and lookup latencies since the last flush, and a window of recent lookup latencies for p50/p99.
final class CacheStatistics: Sendable {
    struct Counts: Sendable, Equatable {
        var exactHits = 0
        var semanticHits = 0
        var misses = 0
        var tokensSaved = 0
        var costSaved = 0.0
    }

    private struct State {
        var pending = Counts()
        var latencies: [Double] = []
        var next = 0
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

    func recordLookup(milliseconds: Double) {
        state.withLock { state in
            if state.latencies.count < Self.window {
                state.latencies.append(milliseconds)
            } else {
                state.latencies[state.next] = milliseconds
            }
            state.next = (state.next + 1) % Self.window
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
        let sorted = state.withLock { $0.latencies }.sorted()
        guard !sorted.isEmpty else { return nil }
        func rank(_ fraction: Double) -> Double { sorted[min(sorted.count - 1, Int(fraction * Double(sorted.count)))] }
        return (rank(0.5), rank(0.99))
    }
}
