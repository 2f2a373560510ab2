import PostgresNIO

/// Rate windows in PostgreSQL, shared by the fleet: two round trips a request, a read of both windows and the
/// count itself, which re-checks the limit under the row's lock (another instance may have counted since the
/// read).
extension PostgresStore: RateWindowStore {
    public func admitRequest(subject: String, limit: Int, now: Double) async throws -> RateDecision {
        let window = SlidingWindow(now: now)
        var current = 0
        var previous = 0
        for try await (start, count) in try await client.query(
            """
            SELECT window_start, count FROM rate_window
            WHERE subject = \(subject) AND window_start IN (\(window.start), \(window.previousStart))
            """, logger: logger
        ).decode((Double, Int).self) {
            if start == window.start { current = count } else { previous = count }
        }
        if let wait = window.wait(current: current, previous: previous, limit: limit) {
            return .refused(retryAfter: wait)
        }
        // Counted only if the count, as it is under the lock, still leaves room.
        let room = Double(limit) - 1 - window.weight(ofPrevious: previous)
        var counted: Int?
        for try await count in try await client.query(
            """
            INSERT INTO rate_window AS w (subject, window_start, count) VALUES (\(subject), \(window.start), 1)
            ON CONFLICT (subject, window_start) DO UPDATE SET count = w.count + 1 WHERE w.count <= \(room)
            RETURNING count
            """, logger: logger
        ).decode(Int.self) {
            counted = count
        }
        if let counted { return .admitted(count: counted) }
        // Another instance took the room between the read and the count: read again for the wait.
        return try await admitRequest(subject: subject, limit: limit, now: now)
    }

    public func pruneRateWindows(before time: Double) async throws -> Int {
        var pruned = 0
        for try await _ in try await client.query(
            "DELETE FROM rate_window WHERE window_start < \(SlidingWindow(now: time).previousStart) RETURNING 1",
            logger: logger)
        {
            pruned += 1
        }
        return pruned
    }
}
