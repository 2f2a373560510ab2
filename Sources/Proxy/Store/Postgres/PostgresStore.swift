import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// The gateway's store on PostgreSQL, for a fleet of gateways on one database: keys and the change feed so far
/// (docs/fleet-plan.md gives the rest and the order). Its schema is migrated at ``connect(to:logger:)`` under
/// an advisory lock, so instances starting together do not race.
public final class PostgresStore: Sendable {
    let client: PostgresClient
    let url: PostgresURL
    let logger: Logger
    private let running: Task<Void, Never>

    private init(client: PostgresClient, url: PostgresURL, logger: Logger) {
        self.client = client
        self.url = url
        self.logger = logger
        running = Task { await client.run() }
    }

    /// Connects to `url` (a pool of up to `maximumConnections`) and brings its schema up to date.
    ///
    /// - Throws: what the server answered, when it cannot be reached or a migration fails; the pool is closed.
    public static func connect(to url: PostgresURL, maximumConnections: Int = 10, logger: Logger) async throws
        -> PostgresStore
    {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database,
            tls: Self.tls(url.tls))
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        let store = PostgresStore(
            client: PostgresClient(configuration: configuration, backgroundLogger: logger), url: url, logger: logger)
        do {
            try await PostgresMigrations.migrate(store.client, logger: logger)
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// Closes the pool; the store answers no query after.
    public func close() async {
        running.cancel()
        await running.value
    }

    /// Runs `body` in a transaction, committed when it returns and rolled back when it throws. What `body`
    /// throws comes out as it was thrown (postgres-nio wraps it), once the rollback succeeded.
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let thrown = error.closureError, error.beginError == nil, error.rollbackError == nil,
                error.commitError == nil
            {
                throw thrown
            }
            throw error
        }
    }

    private static func tls(_ mode: PostgresURL.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }
}
