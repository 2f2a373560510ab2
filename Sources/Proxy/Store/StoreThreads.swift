import Dispatch

/// Where the SQLite store's async methods run their blocking GRDB calls: threads of their own, never Swift's
/// cooperative ones. A blocked cooperative thread is a lost one (there are as many as cores), and when every
/// one of them waits for a pool connection held by a task that cannot resume, the gateway deadlocks; on these
/// threads a wait blocks only itself. The hop costs a few microseconds against a read's tens.
enum StoreThreads {
    private static let queue = DispatchQueue(label: "routershift.store", qos: .userInitiated, attributes: .concurrent)

    /// Runs `work` on the store's threads and returns what it returns, or throws what it throws.
    static func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Swift.Result { try work() }) }
        }
    }
}
