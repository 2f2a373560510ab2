import Foundation
import Logging
import RouterShiftConfiguration
import ServiceLifecycle
import Synchronization

/// Writes request records to the log off the request path: a request only appends to a buffer in memory;
/// this service writes the buffer in one transaction every quarter second, prunes the log by age and size
/// every minute, and writes what is left when the gateway stops.
final class RequestLogWriter: Service, Sendable {
    private let store: any RequestLogStore
    private let settings: GatewayConfiguration.Logging
    private let logger: Logger
    private let pending = Mutex<[RequestRecord]>([])
    /// Serialises writers: the service's loop, and readers that flush first to see every request.
    private let writing = Mutex<Void>(())
    /// Told how long each write transaction took, in nanoseconds.
    private let onWrite: @Sendable (Int64) -> Void

    /// Records held when the database cannot be written; beyond it new records are dropped (and counted in
    /// the log), so a stuck disk cannot exhaust memory.
    static let capacity = 200_000
    static let interval: Duration = .milliseconds(250)
    static let pruneEvery = 240

    /// Retention is counted on it; the writer's ticks are real time.
    private let clock: any GatewayClock

    init(
        store: any RequestLogStore, settings: GatewayConfiguration.Logging, logger: Logger,
        clock: any GatewayClock = SystemClock(), onWrite: @escaping @Sendable (Int64) -> Void = { _ in }
    ) {
        self.store = store
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.onWrite = onWrite
    }

    func append(_ record: RequestRecord) {
        let kept = pending.withLock { pending in
            guard pending.count < Self.capacity else { return false }
            pending.append(record)
            return true
        }
        if !kept { logger.error("request log full: dropped a record", metadata: ["id": "\(record.id)"]) }
    }

    /// Writes every buffered record now. On failure they stay buffered for the next attempt.
    func flush() throws {
        try writing.withLock { _ in
            let batch = pending.withLock { pending in
                let batch = pending
                pending.removeAll(keepingCapacity: true)
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let started = DispatchTime.now().uptimeNanoseconds
                try store.appendRequests(batch)
                onWrite(Int64(DispatchTime.now().uptimeNanoseconds - started))
            } catch {
                pending.withLock { pending in
                    pending.insert(contentsOf: batch.suffix(Self.capacity - min(pending.count, Self.capacity)), at: 0)
                }
                throw error
            }
        }
    }

    /// Deletes records past `logging.retention` (by the clock) and the oldest beyond `logging.max_rows`.
    func prune() throws -> Int {
        try store.pruneRequests(before: clock.wallTime() - settings.retention, maxRows: settings.maxRows)
    }

    func run() async throws {
        var ticks = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: Self.interval)
            ticks += 1
            do {
                try flush()
                if ticks % Self.pruneEvery == 0 {
                    let pruned = try prune()
                    if pruned > 0 { logger.info("request log pruned", metadata: ["rows": "\(pruned)"]) }
                }
            } catch {
                logger.error("request log write failed", metadata: ["error": "\(error)"])
            }
        }
        do { try flush() } catch { logger.error("request log write failed", metadata: ["error": "\(error)"]) }
    }
}
