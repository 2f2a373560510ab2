import Foundation
import NIOSSL
import PostgresNIO

/// Notifications of the change feed: every change any instance commits sends `pg_notify('routershift_changes')`,
/// and a listener reads the feed on each one instead of waiting for its next poll.
///
/// A notification sent while the listener is disconnected is lost, and postgres-nio does not reconnect a
/// listening connection; so the listener reconnects itself, with backoff, and calls back once after every
/// (re)connection, for the reader to catch up by `seq`. The connection is a direct one: a pooler in
/// transaction mode (PgBouncer's default) does not carry `LISTEN`.
extension PostgresStore {
    static let changeChannel = "routershift_changes"

    /// Calls `onChange` once listening has started and after each notification, on a connection of its own,
    /// until the task running it is cancelled.
    public func listenForChanges(onChange: @escaping @Sendable () async -> Void) async {
        var backoff = 0.1
        var attempt = 0
        var reported = false
        while !Task.isCancelled {
            attempt += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try connectionConfiguration(), id: attempt, logger: logger)
                do {
                    try await connection.listen(on: Self.changeChannel) { notifications in
                        if reported { logger.info("change listener connected again") }
                        reported = false
                        backoff = 0.1
                        await onChange()
                        for try await _ in notifications { await onChange() }
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if !Task.isCancelled, !reported {
                    logger.warning(
                        "change listener lost its connection; polling until it is back",
                        metadata: ["error": "\(String(reflecting: error))"])
                    reported = true
                }
            }
            try? await Task.sleep(for: .seconds(backoff))
            backoff = min(backoff * 2, 5)
        }
    }

    private func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch url.tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        return PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database,
            tls: tls)
    }
}
