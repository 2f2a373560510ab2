import Foundation
import Logging
import PostgresNIO
import Testing

@testable import Proxy

/// The stores a shared store test runs on: SQLite always, PostgreSQL when `ROUTERSHIFT_TEST_POSTGRES_URL` names a
/// server (the test script starts a private cluster and sets it; CI always does).
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    typealias Store = KeyStore & KeyFeed & ChangeFeed & AsyncTaskStore & RateWindowStore

    static let postgresURL = ProcessInfo.processInfo.environment["ROUTERSHIFT_TEST_POSTGRES_URL"]

    /// SQLite, and PostgreSQL when a server is given. Without one the PostgreSQL cases do not run: the test
    /// script says so when it finds no PostgreSQL to start.
    static var available: [StoreBackend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }

    /// Runs `body` with `count` stores open on one new, empty database (as the gateway and `routershift keys`
    /// in another process, or as several instances of a fleet), then removes the database. PostgreSQL stores
    /// connect at once, so their migrations race.
    func withStores(count: Int = 2, _ body: ([any Store]) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let path = folder.appendingPathComponent("gateway.sqlite").path
            try await body(try (0..<count).map { _ in try GatewayStore(path: path) })
        case .postgres:
            let server = try PostgresURL(try #require(Self.postgresURL))
            let name = "routershift_test_\(UUID().uuidString.prefix(8).lowercased())"
            try await Self.administer(server, "CREATE DATABASE \(name)")
            let url = {
                var url = server
                url.database = name
                return url
            }()
            let opened = await withTaskGroup(of: Result<PostgresStore, any Error>.self) { group in
                for _ in 0..<count {
                    group.addTask {
                        do {
                            return .success(try await PostgresStore.connect(to: url, logger: Logger(label: "test")))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let stores = opened.compactMap { try? $0.get() }
            do {
                for result in opened { _ = try result.get() }
                try await body(stores)
            } catch {
                for store in stores { await store.close() }
                try? await Self.administer(server, "DROP DATABASE \(name) WITH (FORCE)")
                throw error
            }
            for store in stores { await store.close() }
            try await Self.administer(server, "DROP DATABASE \(name) WITH (FORCE)")
        }
    }

    /// Runs one statement on `url`'s own database, outside any store.
    private static func administer(_ url: PostgresURL, _ statement: String) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: url.host, port: url.port, username: url.username, password: url.password,
                database: url.database, tls: .disable),
            id: 1, logger: Logger(label: "test"))
        do {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "test"))
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}
