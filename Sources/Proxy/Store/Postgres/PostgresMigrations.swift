import Logging
import PostgresNIO

/// The PostgreSQL schema, as named migrations applied once each, in order, and recorded in
/// `schema_migrations`. Changes are additive for one release (new tables, columns, indexes), so two versions of
/// the gateway run side by side on one database during a rolling deploy.
enum PostgresMigrations {
    struct Migration {
        var name: String
        /// One statement each: the extended protocol takes one at a time.
        var statements: [String]
    }

    /// The advisory lock held while migrating, on the migrating connection: instances starting at once wait
    /// for the first, then find its migrations applied.
    static let lock: Int64 = 0x5253_0001

    static let all: [Migration] = [
        Migration(
            name: "v1-keys",
            statements: [
                """
                CREATE TABLE virtual_key (
                    id text PRIMARY KEY,
                    name text NOT NULL,
                    hash text NOT NULL UNIQUE,
                    prefix text NOT NULL,
                    team text,
                    allowed_models text,
                    rpm bigint,
                    tpm bigint,
                    max_parallel bigint,
                    budget double precision,
                    budget_period text,
                    created_at double precision NOT NULL,
                    revoked_at double precision,
                    cache_audit boolean)
                """,
                "CREATE INDEX virtual_key_prefix ON virtual_key (prefix)",
            ]),
        Migration(
            name: "v2-change-feed",
            statements: [
                // One counter row, locked by each change until it commits: changes commit in `seq` order, so a
                // reader that has applied a seq never later sees a smaller one commit (a sequence would not
                // promise that).
                "CREATE TABLE change_counter (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL)",
                "INSERT INTO change_counter (id, seq) VALUES (1, 0)",
                """
                CREATE TABLE change_log (
                    seq bigint PRIMARY KEY,
                    kind text NOT NULL,
                    subject text NOT NULL,
                    at double precision NOT NULL)
                """,
                "CREATE INDEX change_log_at ON change_log (at)",
                """
                CREATE FUNCTION routershift_record_change(change_kind text, change_subject text) RETURNS void
                LANGUAGE plpgsql AS $$
                DECLARE
                    next_seq bigint;
                BEGIN
                    UPDATE change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq INTO next_seq;
                    INSERT INTO change_log (seq, kind, subject, at)
                        VALUES (next_seq, change_kind, change_subject, extract(epoch FROM clock_timestamp()));
                    PERFORM pg_notify('routershift_changes', next_seq::text);
                END
                $$
                """,
                """
                CREATE FUNCTION routershift_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'DELETE' THEN
                        PERFORM routershift_record_change('key', OLD.id);
                    ELSE
                        PERFORM routershift_record_change('key', NEW.id);
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER virtual_key_change AFTER INSERT OR UPDATE OR DELETE ON virtual_key
                FOR EACH ROW EXECUTE FUNCTION routershift_key_changed()
                """,
            ]),
        Migration(
            name: "v3-async-tasks",
            statements: [
                """
                CREATE TABLE async_task (
                    id text PRIMARY KEY,
                    key_id text NOT NULL,
                    model text NOT NULL,
                    request bytea NOT NULL,
                    headers bytea NOT NULL,
                    status text NOT NULL,
                    attempts bigint NOT NULL,
                    created_at double precision NOT NULL,
                    not_before double precision NOT NULL,
                    started_at double precision,
                    finished_at double precision,
                    result_status bigint,
                    result bytea,
                    claimed_by text,
                    lease_until double precision)
                """,
                "CREATE INDEX async_task_by_status ON async_task (status, not_before)",
            ]),
        Migration(
            name: "v4-rate-window",
            statements: [
                """
                CREATE TABLE rate_window (
                    subject text NOT NULL,
                    window_start double precision NOT NULL,
                    count bigint NOT NULL,
                    PRIMARY KEY (subject, window_start))
                """
            ]),
    ]

    /// Applies the migrations `client`'s database lacks, each in its own transaction, under ``lock``.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(lock))", logger: logger)
            do {
                try await apply(on: connection, logger: logger)
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lock))", logger: logger)
                throw error
            }
            try await connection.query("SELECT pg_advisory_unlock(\(lock))", logger: logger)
        }
    }

    private static func apply(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at double precision NOT NULL)",
            logger: logger)
        var applied = Set<String>()
        for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: logger)
            .decode(String.self)
        {
            applied.insert(name)
        }
        for migration in all where !applied.contains(migration.name) {
            try await connection.withTransaction(logger: logger) { transaction in
                for statement in migration.statements {
                    try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await transaction.query(
                    """
                    INSERT INTO schema_migrations (name, applied_at)
                    VALUES (\(migration.name), extract(epoch FROM clock_timestamp()))
                    """, logger: logger)
            }
            logger.info("database migrated", metadata: ["migration": "\(migration.name)"])
        }
    }
}
