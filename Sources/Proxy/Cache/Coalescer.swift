import Synchronization

/// Makes identical requests that arrive together while their answer is not cached go upstream once: the
/// first leads, the others wait for it to finish and then find its answer in the cache.
final class Coalescer: Sendable {
    private let waiting = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    /// Returns true for the leader, who must call ``finish(_:)``; a follower waits for the leader and gets
    /// false.
    func join(_ key: String) async -> Bool {
        var leads = false
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = waiting.withLock { table -> Bool in
                if table[key] == nil {
                    table[key] = []
                    leads = true
                    return true
                }
                table[key]!.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return leads
    }

    /// Wakes every request waiting behind the leader of `key`.
    func finish(_ key: String) {
        let followers = waiting.withLock { $0.removeValue(forKey: key) ?? [] }
        followers.forEach { $0.resume() }
    }
}
