import Foundation
import Testing

@testable import Proxy

/// What every ``KeyStore`` does, on SQLite and on PostgreSQL: the same answers from one suite.
@Suite struct KeyStoreTests {
    @Test(arguments: StoreBackend.available) func createsFindsListsAndRevokes(_ backend: StoreBackend) async throws {
        try await backend.withStores(count: 1) { stores in
            let store = stores[0]
            let first = try await store.createKey(
                KeyDraft(
                    name: "first", team: "research", models: ["chat"], rpm: 10, tpm: 1000, maxParallel: 2, budget: 5,
                    budgetPeriod: "day", cacheAudit: false), now: 1)
            let second = try await store.createKey(KeyDraft(name: "second"), now: 2)
            #expect(first.secret.hasPrefix("sk-rs-"))
            #expect(first.key.hash == Secrets.sha256Hex(first.secret), "only the hash is kept")
            #expect(try await store.key(hash: first.key.hash) == first.key, "every field as it was written")
            #expect(try await store.key(id: second.key.id) == second.key)
            #expect(try await store.key(hash: "unknown") == nil)
            #expect(try await store.keys(includeRevoked: false).map(\.id) == [first.key.id, second.key.id])

            let revoked = try #require(try await store.revokeKey(second.key.prefix, now: 3), "by secret prefix")
            #expect(revoked.revokedAt == 3)
            #expect(try await store.revokeKey(second.key.id, now: 4)?.revokedAt == 3, "revoking again changes nothing")
            #expect(try await store.keys(includeRevoked: false).map(\.id) == [first.key.id])
            #expect(try await store.keys(includeRevoked: true).map(\.id) == [first.key.id, second.key.id])
            #expect(try await store.revokeKey("key_unknown", now: 5) == nil)
        }
    }

    @Test(arguments: StoreBackend.available) func changesAKeyOnlyWhenTheCheckAccepts(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStores(count: 1) { stores in
            let store = stores[0]
            let created = try await store.createKey(KeyDraft(name: "app", team: "research", rpm: 10), now: 1)
            var change = KeyChange()
            change.rpm = 20
            change.team = .some(nil)
            change.models = .some(["chat", "claude"])
            let changed = try #require(try await store.updateKey(created.key.id, change) { _ in })
            #expect(changed.rpm == 20 && changed.team == nil && changed.models == ["chat", "claude"])
            #expect(try await store.key(id: created.key.id) == changed)

            struct Refused: Error {}
            change.rpm = 30
            await #expect(throws: Refused.self) {
                try await store.updateKey(created.key.id, change) { _ in throw Refused() }
            }
            #expect(try await store.key(id: created.key.id)?.rpm == 20, "a refused change changes nothing")
            #expect(try await store.updateKey("key_unknown", change) { _ in } == nil)

            _ = try await store.revokeKey(created.key.id, now: 2)
            let conflict = await #expect(throws: GatewayError.self) {
                try await store.updateKey(created.key.id, change) { _ in }
            }
            #expect(conflict?.code == "key_revoked")
        }
    }

    /// Three stores opening one new database (three fleet instances starting together) all migrate it without a
    /// conflict, and find the same keys. On PostgreSQL they connect at once, so their migrations race for the
    /// advisory lock; on SQLite they open one after another (one machine, one process at a time here).
    @Test(arguments: StoreBackend.available) func storesOpeningAtOnceMigrateOnce(_ backend: StoreBackend) async throws {
        try await backend.withStores(count: 3) { stores in
            let created = try await stores[0].createKey(KeyDraft(name: "app"), now: 1)
            for store in stores { #expect(try await store.key(hash: created.key.hash) == created.key) }
        }
    }

    @Test func aPostgresURLIsReadAsLibpqWritesIt() throws {
        let url = try PostgresURL("postgres://gateway:p%40ss@db.internal:6432/routershift?sslmode=require")
        #expect(url.username == "gateway" && url.password == "p@ss")
        #expect(url.host == "db.internal" && url.port == 6432 && url.database == "routershift" && url.tls == .require)
        #expect(url.description == "postgres://gateway@db.internal:6432/routershift?sslmode=require", "no password")
        let plain = try PostgresURL("postgresql://gateway@localhost/routershift")
        #expect(plain.port == 5432 && plain.password == nil && plain.tls == .prefer)
        for (text, reason) in [
            ("mysql://u@h/d", "postgres://"), ("postgres://h:5432/d", "no user"),
            ("postgres://u@h:5432", "no database"),
            ("postgres://u@h/d?sslmode=verify-full", "sslmode must be"), ("postgres://u@h/d?timeout=3", "`timeout`"),
        ] {
            let error = #expect(throws: GatewayError.self) { try PostgresURL(text) }
            #expect(error?.message.contains(reason) == true, "\(text): \(error?.message ?? "")")
        }
    }
}
