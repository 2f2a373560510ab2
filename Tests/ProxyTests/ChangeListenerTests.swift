import Foundation
import PostgresNIO
import Testing

@testable import Proxy

/// The PostgreSQL change listener: woken by another instance's change, and back by itself, caught up, after its
/// connection is cut.
@Suite struct ChangeListenerTests {
    @Test(
        .enabled(if: StoreBackend.postgresURL != nil, "needs ROUTERSHIFT_TEST_POSTGRES_URL (scripts/test.sh sets it)"))
    func wakesOnAnotherInstancesChangeAndReconnectsByItself() async throws {
        try await StoreBackend.postgres.withStores { stores in
            let listening = try #require(stores[0] as? PostgresStore)
            let other = stores[1]
            let wakes = Shared(0)
            let listener = Task { await listening.listenForChanges { wakes.update { $0 += 1 } } }
            try await Self.expectWakes(1, wakes, "once listening")

            _ = try await other.createKey(KeyDraft(name: "elsewhere"), now: 1)
            try await Self.expectWakes(2, wakes, "on another instance's change")

            // Cut the listener's connection from the server's side, as a restart or a network cut would.
            let admin = try #require(other as? PostgresStore)
            try await admin.client.query(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE query ILIKE 'listen%' AND pid <> pg_backend_pid()
                """)
            try await Self.expectWakes(3, wakes, "once listening again")
            _ = try await other.createKey(KeyDraft(name: "after"), now: 2)
            try await Self.expectWakes(4, wakes, "on a change after reconnecting")
            listener.cancel()
            await listener.value
        }
    }

    /// Waits up to 10 s (a generous bound; the delay itself is for the benchmark) for `count` wakes in all.
    private static func expectWakes(_ count: Int, _ wakes: Shared<Int>, _ when: String) async throws {
        let deadline = Date().addingTimeInterval(10)
        while wakes.update({ $0 }) < count, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(wakes.update { $0 } == count, "no wake \(when)")
    }
}
