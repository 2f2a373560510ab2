import Synchronization
import Testing

@testable import Proxy

@Suite struct BatchConcurrencyTests {
    @Test func runsAtMostTheConcurrencyAndKeepsOrder() async throws {
        let items = (0..<40).map { BatchRoutes.Item(customID: "i\($0)", url: "", body: .null, problem: nil) }
        let running = Atomic<Int>(0)
        let mostRunning = Atomic<Int>(0)
        let results = try await BatchRoutes.run(items, concurrency: 4) { item in
            let now = running.add(1, ordering: .relaxed).newValue
            mostRunning.max(now, ordering: .relaxed)
            // Later items finish first, so the results arrive out of order.
            try await Task.sleep(nanoseconds: UInt64(40 - Int(item.customID.dropFirst())!) * 100_000)
            running.subtract(1, ordering: .relaxed)
            return .string(item.customID)
        }
        #expect(results == items.map { .string($0.customID) })
        #expect(mostRunning.load(ordering: .relaxed) <= 4)
        #expect(mostRunning.load(ordering: .relaxed) >= 2)
    }
}
