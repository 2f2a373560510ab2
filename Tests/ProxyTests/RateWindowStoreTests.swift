import Foundation
import Testing

@testable import Proxy

/// Requests per minute counted in the store, on SQLite and on PostgreSQL: the sliding estimate, and a limit that
/// holds when several instances admit at once.
@Suite struct RateWindowStoreTests {
    @Test func theEstimateWeighsThePreviousWindowByWhatTheLastMinuteStillCovers() {
        let half = SlidingWindow(now: 120 + 30)
        #expect(half.start == 120 && half.elapsed == 0.5 && half.previousStart == 60)
        #expect(half.weight(ofPrevious: 60) == 30)
        #expect(half.wait(current: 29, previous: 60, limit: 60) == nil, "29 + 1 + 30 fits in 60")
        let wait = half.wait(current: 30, previous: 60, limit: 60) ?? -1
        #expect(abs(wait - 1) < 1e-9, "the previous window weighs one request less a second later")
        #expect(half.wait(current: 60, previous: 0, limit: 60) == 30, "a full window waits for the next")
        #expect(SlidingWindow(now: 59.999).start == 0)
    }

    @Test(arguments: StoreBackend.available) func admitsUpToTheLimitAndSaysWhenToRetry(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores(count: 1) { stores in
            let store = stores[0]
            for expected in 1...3 {
                #expect(
                    try await store.admitRequest(subject: "key:a", limit: 3, now: 600) == .admitted(count: expected))
            }
            #expect(try await store.admitRequest(subject: "key:a", limit: 3, now: 615) == .refused(retryAfter: 45))
            #expect(try await store.admitRequest(subject: "key:b", limit: 3, now: 615) == .admitted(count: 1))
            // In the next window the 3 of the last still weigh 3 x (1 - 0.5) = 1.5: one more fits, not two.
            #expect(try await store.admitRequest(subject: "key:a", limit: 3, now: 690) == .admitted(count: 1))
            guard case .refused(let wait) = try await store.admitRequest(subject: "key:a", limit: 3, now: 690) else {
                Issue.record("a second request fits under the estimate")
                return
            }
            #expect(abs(wait - 10) < 1e-6, "1.5 falls to 1 ten seconds later")
            #expect(try await store.pruneRateWindows(before: 690) == 0, "the previous window is still read")
            #expect(try await store.pruneRateWindows(before: 750) == 2, "key:a's and key:b's windows of 600")
            #expect(try await store.pruneRateWindows(before: 750) == 0)
        }
    }

    /// Three instances, 40 requests each at once, one limit of 60 a minute: exactly 60 are admitted.
    @Test(arguments: StoreBackend.available) func aLimitHoldsAcrossInstancesAdmittingAtOnce(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores(count: 3) { stores in
            let admitted = try await withThrowingTaskGroup(of: Int.self) { group in
                for store in stores {
                    for _ in 0..<40 {
                        group.addTask {
                            let decision = try await store.admitRequest(subject: "key:shared", limit: 60, now: 1_200)
                            if case .admitted = decision { return 1 }
                            return 0
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(admitted == 60)
        }
    }
}
