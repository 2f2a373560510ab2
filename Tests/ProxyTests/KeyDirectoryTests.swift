import Foundation
import Testing

@testable import Proxy

/// The in-memory key directory follows the store's change feed: keys created, changed and revoked by another
/// process on the same database (a second store, as `routershift keys` or another fleet instance opens) reach
/// it on refresh, and a feed pruned past what it has seen makes it read every key again. On SQLite and on
/// PostgreSQL alike.
@Suite struct KeyDirectoryTests {
    @Test(arguments: StoreBackend.available) func followsChangesMadeByAnotherProcess(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores { stores in
            let (gateway, cli) = (stores[0], stores[1])
            let before = try await cli.createKey(KeyDraft(name: "before"), now: 1)
            let directory = try await KeyDirectory.load(from: gateway)
            #expect(directory.key(hash: before.key.hash)?.name == "before", "loaded at start")

            let created = try await cli.createKey(KeyDraft(name: "app", rpm: 5), now: 2)
            #expect(directory.key(hash: created.key.hash) == nil, "not before a refresh")
            #expect(try await directory.refresh() == 1)
            #expect(directory.key(hash: created.key.hash)?.rpm == 5)
            #expect(directory.key(id: created.key.id)?.name == "app")

            var change = KeyChange()
            change.rpm = .some(nil)
            change.name = "app-2"
            _ = try await cli.updateKey(created.key.id, change) { _ in }
            _ = try await cli.revokeKey(before.key.id, now: 3)
            #expect(try await directory.refresh() == 2)
            #expect(directory.key(hash: created.key.hash)?.rpm == nil)
            #expect(directory.key(hash: created.key.hash)?.name == "app-2")
            #expect(directory.key(hash: before.key.hash)?.isRevoked == true, "a revoked key stays, as revoked")

            #expect(try await directory.refresh() == 0, "nothing changed since")
            let applied = directory.appliedChange
            #expect(
                try await gateway.changes(after: 0, limit: 100).changes.count == 4,
                "two creations, a change, a revocation")
            #expect(try await gateway.changes(after: 0, limit: 100).through == applied)
        }
    }

    @Test(arguments: StoreBackend.available) func aChangeThatChangesNothingIsNotInTheFeed(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores(count: 1) { stores in
            let gateway = stores[0]
            let created = try await gateway.createKey(KeyDraft(name: "app", rpm: 5), now: 1)
            var change = KeyChange()
            change.rpm = 5
            _ = try await gateway.updateKey(created.key.id, change) { _ in }
            #expect(try await gateway.changes(after: 0, limit: 100).changes.map(\.kind) == [.key])
        }
    }

    @Test(arguments: StoreBackend.available) func readsEveryKeyAgainWhenTheFeedWasPrunedPastIt(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores { stores in
            let (gateway, cli) = (stores[0], stores[1])
            let directory = try await KeyDirectory.load(from: gateway)
            let first = try await cli.createKey(KeyDraft(name: "first"), now: 1)
            let second = try await cli.createKey(KeyDraft(name: "second"), now: 1)
            _ = try await cli.revokeKey(first.key.id, now: 2)
            // Pruned as of the far future: all but the newest change go, and the directory never saw them.
            #expect(try await cli.pruneChanges(before: Date().timeIntervalSince1970 + 86_400) == 2)
            #expect(try await gateway.changes(after: 0, limit: 100).oldestRetained == 3)
            #expect(try await directory.refresh() == 2, "every key read again")
            #expect(directory.key(hash: first.key.hash)?.isRevoked == true)
            #expect(directory.key(hash: second.key.hash)?.name == "second")
            #expect(directory.appliedChange == 3)
        }
    }

    /// A database whose feed is behind what the reader applied (restored from a backup, or made anew under a
    /// running gateway) is read again in full, not followed from a seq it will take long to reach.
    @Test(arguments: StoreBackend.available) func aFeedBehindTheReaderIsReadInFull(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores(count: 1) { stores in
            _ = try await stores[0].createKey(KeyDraft(name: "only"), now: 1)
            #expect(try await stores[0].keysChanged(after: 0)?.through == 1)
            #expect(try await stores[0].keysChanged(after: 1)?.keys.isEmpty == true)
            #expect(try await stores[0].keysChanged(after: 5) == nil, "the feed is at 1, the reader at 5")
        }
    }

    @Test(arguments: StoreBackend.available) func aPagedFeedIsReadToItsEnd(_ backend: StoreBackend) async throws {
        try await backend.withStores { stores in
            let (gateway, cli) = (stores[0], stores[1])
            let directory = try await KeyDirectory.load(from: gateway)
            let count = GatewayStore.changePageSize + 5
            var last: VirtualKey?
            for index in 0..<count { last = try await cli.createKey(KeyDraft(name: "k\(index)"), now: 1).key }
            #expect(try await directory.refresh() == count)
            #expect(directory.key(hash: try #require(last).hash) != nil)
            #expect(directory.appliedChange == Int64(count))
        }
    }

    /// The running gateway refreshes once a second by itself: a key revoked through the database by another
    /// process stops working, and one created there starts working, without a request to the admin API.
    @Test func aRunningGatewayFollowsTheCommandLine() async throws {
        try await LiveGateway.run(yaml: KeyUpdateTests.yaml) { live in
            let created = try await live.post("/admin/keys", ["name": "app"])
            let id = try #require(created.body["id"]?.string)
            let secret = try #require(created.body["key"]?.string)
            #expect(try await KeyUpdateTests.ask(live, "chat", key: secret) == 200)

            let cli = try GatewayStore(path: live.gateway.configuration.databasePath)
            _ = try await cli.revokeKey(id, now: Date().timeIntervalSince1970)
            let other = try await cli.createKey(KeyDraft(name: "from-cli"), now: Date().timeIntervalSince1970)
            // Convergence within a generous bound; the delay itself is the refresh interval, 1 s.
            let deadline = Date().addingTimeInterval(15)
            var revoked = 0
            var accepted = 0
            while Date() < deadline {
                revoked = try await KeyUpdateTests.ask(live, "chat", key: secret)
                accepted = try await KeyUpdateTests.ask(live, "chat", key: other.secret)
                if revoked == 401 && accepted == 200 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(revoked == 401)
            #expect(accepted == 200)
        }
    }
}
