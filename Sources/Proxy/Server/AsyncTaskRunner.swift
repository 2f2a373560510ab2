import Foundation
import Logging
import RouterShiftConfiguration
import ServiceLifecycle
import Synchronization

/// Runs async tasks in the background, oldest first and at most `server.async_workers` at once. It wakes
/// when a task is submitted or finishes, and every second for tasks whose wait is over.
///
/// Each task it runs is claimed under a lease of ``leaseSeconds``, renewed every ``renewalSeconds`` while it
/// runs. On start it recovers the tasks a stopped process left running: every running task when the store is
/// this process's alone (SQLite), those whose lease has ended when instances share it (PostgreSQL), which it
/// also looks for at every renewal. They go back to the queue, or fail once they have used
/// `server.async_max_attempts`. A task whose run is cancelled (the gateway stopping hard) is left running for
/// that recovery; on a graceful stop the runs in progress finish first.
final class AsyncTaskRunner: Service, Sendable {
    /// What became of one run of a task.
    enum Outcome: Sendable {
        /// The answer to keep: a completion (2xx) or an error body.
        case finished(status: Int, body: JSONValue)
        /// Rate limited: run it again after this many seconds.
        case retry(after: Double)
        /// Cancelled before it finished: leave it for recovery.
        case interrupted
    }

    private let store: any AsyncTaskStore
    /// Whether no other process runs this store's tasks: then every running task at start is an orphan.
    private let storeIsExclusive: Bool
    /// Who claims tasks: this gateway instance.
    private let owner: String
    static let leaseSeconds = 30.0
    static let renewalSeconds = 10.0
    private let settings: GatewayConfiguration.Server
    private let perform: @Sendable (AsyncTask) async -> Outcome
    private let logger: Logger
    /// Task schedules (claims, retries, retention, sweeps) are read from it; the runner's ticks are real time.
    private let clock: any GatewayClock
    private let wakeups: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let active = Atomic<Int>(0)

    init(
        store: any AsyncTaskStore, storeIsExclusive: Bool, owner: String, settings: GatewayConfiguration.Server,
        logger: Logger, clock: any GatewayClock = SystemClock(),
        perform: @escaping @Sendable (AsyncTask) async -> Outcome
    ) {
        self.store = store
        self.storeIsExclusive = storeIsExclusive
        self.owner = owner
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.perform = perform
        (wakeups, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Tells the runner a task may be ready.
    func wake() { continuation.yield() }

    func run() async throws {
        try await recover(expiredBefore: storeIsExclusive ? .greatestFiniteMagnitude : clock.wallTime())
        // Paced in real time; what is due is decided by the clock.
        let ticker = Task { [continuation] in
            while !Task.isCancelled {
                continuation.yield()
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
        // Leases are renewed apart from the wake-up loop, until the runs in progress have finished: on a
        // graceful stop the loop ends first, and a long run must not lose its task to another instance.
        let renewer = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(Self.renewalSeconds))
                if !Task.isCancelled { await renewAndRecover() }
            }
        }
        defer {
            ticker.cancel()
            renewer.cancel()
        }
        var lastSweep = -Double.infinity
        await withDiscardingTaskGroup { group in
            for await _ in wakeups.cancelOnGracefulShutdown() {
                while active.load(ordering: .relaxed) < settings.asyncWorkers, let task = await claim() {
                    active.add(1, ordering: .relaxed)
                    group.addTask {
                        await self.execute(task)
                        self.active.subtract(1, ordering: .relaxed)
                        self.wake()
                    }
                }
                if clock.now() - lastSweep > 60 {
                    lastSweep = clock.now()
                    await sweep()
                }
            }
        }
    }

    /// Sends the tasks whose lease ended before `expiredBefore` back to the queue, or fails them.
    private func recover(expiredBefore: Double) async throws {
        let failure = GatewayError(
            .upstreamFailed, "The gateway stopped while running this task, \(settings.asyncMaxAttempts) times.",
            code: "task_interrupted")
        let recovered = try await store.recoverInterruptedTasks(
            expiredBefore: expiredBefore, maxAttempts: settings.asyncMaxAttempts,
            failure: Data(failure.body(for: .openAI).serialized()), now: clock.wallTime())
        if recovered.requeued + recovered.failed > 0 {
            logger.info(
                "recovered async tasks",
                metadata: ["requeued": "\(recovered.requeued)", "failed": "\(recovered.failed)"])
        }
    }

    /// Keeps this instance's claims, and takes back those of instances that stopped.
    private func renewAndRecover() async {
        do {
            let now = clock.wallTime()
            _ = try await store.renewLeases(owner: owner, until: now + Self.leaseSeconds)
            try await recover(expiredBefore: now)
        } catch {
            logger.error("could not renew async task leases", metadata: ["error": "\(error)"])
        }
    }

    private func claim() async -> AsyncTask? {
        do {
            let now = clock.wallTime()
            return try await store.claimNextTask(now: now, owner: owner, leaseUntil: now + Self.leaseSeconds)
        } catch {
            logger.error("could not claim an async task", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func execute(_ task: AsyncTask) async {
        let outcome = await perform(task)
        do {
            switch outcome {
            case .finished(let status, let body):
                let recorded = try await store.finishTask(
                    id: task.id, owner: owner, status: (200..<300).contains(status) ? .succeeded : .failed,
                    resultStatus: status, result: Data(body.serialized()), now: clock.wallTime())
                if !recorded { logLostClaim(task) }
            case .retry(let delay):
                if try await !store.requeueTask(id: task.id, owner: owner, notBefore: clock.wallTime() + delay) {
                    logLostClaim(task)
                }
            case .interrupted:
                break
            }
        } catch {
            logger.error("could not record an async task", metadata: ["task": "\(task.id)", "error": "\(error)"])
        }
    }

    /// The task's lease ended while it ran (this instance was paused or cut off from the database for longer
    /// than the lease) and another run owns it now; this run's outcome is dropped.
    private func logLostClaim(_ task: AsyncTask) {
        logger.warning(
            "async task claimed again by another run; this outcome is dropped", metadata: ["task": "\(task.id)"])
    }

    private func sweep() async {
        do {
            let deleted = try await store.deleteFinishedTasks(before: clock.wallTime() - settings.asyncRetention)
            if deleted > 0 { logger.info("deleted expired async tasks", metadata: ["count": "\(deleted)"]) }
        } catch {
            logger.error("async task sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
