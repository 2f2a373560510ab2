import Foundation
import GRDB

/// Requests per minute counted in the database, so that every instance of a fleet counts against one limit:
/// with three instances, a key limited to 60 a minute gets at most 60 admitted in a minute across all three.
///
/// Counts are kept per subject (a key, a deployment) and per minute-aligned window. A request is admitted when
/// the sliding estimate (``SlidingWindow``), this window's count plus the previous window's weighted by how
/// much of it the last minute still covers, stays within the limit. The count is taken by one row update,
/// locked per subject, so instances admitting at once cannot both take the last place.
public protocol RateWindowStore: Sendable {
    /// Admits one request of `subject` at `now` (seconds since 1970) under `limit` a minute, counting it, or
    /// refuses it without counting it.
    func admitRequest(subject: String, limit: Int, now: Double) async throws -> RateDecision
    /// Removes the windows no estimate at `time` or later reads (older than the previous one); returns how many.
    func pruneRateWindows(before time: Double) async throws -> Int
}

/// What ``RateWindowStore/admitRequest(subject:limit:now:)`` decided.
public enum RateDecision: Sendable, Equatable {
    /// Admitted, the `count`th request of its window.
    case admitted(count: Int)
    /// Refused: the estimate allows another request after this many seconds.
    case refused(retryAfter: Double)
}

/// The sliding-window estimate of the requests of the last minute, from two fixed windows.
public struct SlidingWindow: Sendable, Equatable {
    public static let length = 60.0

    /// Where the window holding `now` starts.
    public var start: Double
    /// How far into it `now` is, 0 to 1.
    public var elapsed: Double

    public init(now: Double) {
        start = (now / Self.length).rounded(.down) * Self.length
        elapsed = (now - start) / Self.length
    }

    /// The previous window's start.
    public var previousStart: Double { start - Self.length }

    /// What the previous window's `count` still weighs in the last minute.
    public func weight(ofPrevious count: Int) -> Double { Double(count) * (1 - elapsed) }

    /// Whether one more request fits under `limit`, with `current` already counted in this window and
    /// `previous` in the one before; if not, the seconds until it would.
    public func wait(current: Int, previous: Int, limit: Int) -> Double? {
        let room = Double(limit) - Double(current) - 1
        if room < 0 { return (1 - elapsed) * Self.length }
        guard weight(ofPrevious: previous) > room else { return nil }
        // The previous window's weight falls linearly to 0 at this window's end.
        let fits = 1 - room / Double(previous)
        return max((fits - elapsed) * Self.length, 0.001)
    }
}

extension GatewayStore: RateWindowStore {
    public func admitRequest(subject: String, limit: Int, now: Double) async throws -> RateDecision {
        let window = SlidingWindow(now: now)
        return try await StoreThreads.run {
            try self.database.write { db in
                let counts = try Dictionary(
                    Row.fetchAll(
                        db,
                        sql: "SELECT window_start, count FROM rate_window WHERE subject = ? AND window_start IN (?, ?)",
                        arguments: [subject, window.start, window.previousStart]
                    ).map { ($0["window_start"] as Double, $0["count"] as Int) }, uniquingKeysWith: max)
                let current = counts[window.start] ?? 0
                if let wait = window.wait(current: current, previous: counts[window.previousStart] ?? 0, limit: limit) {
                    return .refused(retryAfter: wait)
                }
                try db.execute(
                    sql: """
                        INSERT INTO rate_window (subject, window_start, count) VALUES (?, ?, 1)
                        ON CONFLICT (subject, window_start) DO UPDATE SET count = count + 1
                        """, arguments: [subject, window.start])
                return .admitted(count: current + 1)
            }
        }
    }

    public func pruneRateWindows(before time: Double) async throws -> Int {
        try await StoreThreads.run {
            try self.database.write { db in
                try db.execute(
                    sql: "DELETE FROM rate_window WHERE window_start < ?",
                    arguments: [SlidingWindow(now: time).previousStart])
                return db.changesCount
            }
        }
    }

    static func registerRateWindowMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v17-rate-window") { db in
            try db.create(table: "rate_window") { table in
                table.column("subject", .text).notNull()
                table.column("window_start", .double).notNull()
                table.column("count", .integer).notNull()
                table.primaryKey(["subject", "window_start"])
            }
        }
    }
}
