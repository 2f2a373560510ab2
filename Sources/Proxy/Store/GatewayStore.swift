import Foundation
import GRDB

/// The gateway's SQLite database (GRDB `DatabasePool`, WAL): keys, cache entries and their index, the
/// request log, async tasks, the change feed. Each concern reaches it through a narrow protocol; ``KeyStore``,
/// ``KeyFeed`` and ``ChangeFeed`` are async, run their GRDB calls on ``StoreThreads``, and have a PostgreSQL
/// implementation beside this one (``PostgresStore``).
public final class GatewayStore: Sendable {
    public let database: DatabasePool

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Durable against process crashes (not power loss) without an fsync per commit.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        configuration.busyMode = .timeout(5)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    /// A synchronous read, also where async code calls it. The gateway never uses GRDB's async reads:
    /// those release their connection only once the awaiting task resumes, so mixed with synchronous reads
    /// (which block cooperative threads while they wait for a connection) they can deadlock the pool when
    /// every cooperative thread waits for a connection held by a task that cannot resume.
    func readNow<T>(_ block: (Database) throws -> T) throws -> T {
        try database.read(block)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-keys") { db in
            try db.create(table: "virtual_key") { table in
                table.primaryKey("id", .text)
                table.column("name", .text).notNull()
                table.column("hash", .text).notNull().unique()
                table.column("prefix", .text).notNull()
                table.column("team", .text)
                table.column("allowed_models", .text)
                table.column("rpm", .integer)
                table.column("tpm", .integer)
                table.column("max_parallel", .integer)
                table.column("budget", .double)
                table.column("budget_period", .text)
                table.column("created_at", .double).notNull()
                table.column("revoked_at", .double)
            }
        }
        registerCacheMigrations(&migrator)
        AsyncTask.registerMigrations(&migrator)
        RequestRecord.registerMigrations(&migrator)
        StoredResponse.registerMigrations(&migrator)
        registerFeedbackMigrations(&migrator)
        registerAuditMigrations(&migrator)
        registerCacheOpeningIndex(&migrator)
        registerChangeFeedMigrations(&migrator)
        registerRateWindowMigrations(&migrator)
        return migrator
    }
}
