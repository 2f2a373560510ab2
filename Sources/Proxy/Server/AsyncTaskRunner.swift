import Foundation
import Logging
import RouterShiftConfiguration
import ServiceLifecycle
import Synchronization

/// Runs async tasks in the background, oldest first and at most `server.async_workers` at once. It wakes
/// when a task is submitted or finishes, and every second for tasks whose wait is over.
///
/// On start it recovers the tasks a previous process left running: they go back to the queue, or fail once
/// they have used `server.async_max_attempts`. A task whose run is cancelled (the gateway stopping hard) is
/// left running for that recovery; on a graceful stop the runs in progress finish first.
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
    private let settings: GatewayConfiguration.Server
    private let perform: @Sendable (AsyncTask) async -> Outcome
    private let logger: Logger
    /// Task schedules (claims, retries, retention, sweeps) are read from it; the runner's ticks are real time.
    private let clock: any GatewayClock
    private let wakeups: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let active = Atomic<Int>(0)

    init(
        store: any AsyncTaskStore, settings: GatewayConfiguration.Server, logger: Logger,
        clock: any GatewayClock = SystemClock(), perform: @escaping @Sendable (AsyncTask) async -> Outcome
    ) {
        self.store = store
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.perform = perform
        (wakeups, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Tells the runner a task may be ready.
    func wake() { continuation.yield() }

    func run() async throws {
        let failure = GatewayError(
            .upstreamFailed, "The gateway stopped while running this task, \(settings.asyncMaxAttempts) times.",
            code: "task_interrupted")
        let recovered = try store.recoverInterruptedTasks(
            maxAttempts: settings.asyncMaxAttempts, failure: Data(failure.body(for: .openAI).serialized()),
            now: clock.wallTime())
        if recovered.requeued + recovered.failed > 0 {
            logger.info(
                "recovered async tasks",
                metadata: ["requeued": "\(recovered.requeued)", "failed": "\(recovered.failed)"])
        }
        // Paced in real time; what is due is decided by the clock.
        let ticker = Task { [continuation] in
            while !Task.isCancelled {
                continuation.yield()
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
        defer { ticker.cancel() }
        var lastSweep = -Double.infinity
        await withDiscardingTaskGroup { group in
            for await _ in wakeups.cancelOnGracefulShutdown() {
                while active.load(ordering: .relaxed) < settings.asyncWorkers, let task = claim() {
                    active.add(1, ordering: .relaxed)
                    group.addTask {
                        await self.execute(task)
                        self.active.subtract(1, ordering: .relaxed)
                        self.wake()
                    }
                }
                if clock.now() - lastSweep > 60 {
                    lastSweep = clock.now()
                    sweep()
                }
            }
        }
    }

    private func claim() -> AsyncTask? {
        do {
            return try store.claimNextTask(now: clock.wallTime())
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
                try store.finishTask(
                    id: task.id, status: (200..<300).contains(status) ? .succeeded : .failed, resultStatus: status,
                    result: Data(body.serialized()), now: clock.wallTime())
            case .retry(let delay):
                try store.requeueTask(id: task.id, notBefore: clock.wallTime() + delay)
            case .interrupted:
                break
            }
        } catch {
            logger.error("could not record an async task", metadata: ["task": "\(task.id)", "error": "\(error)"])
        }
    }

    private func sweep() {
        do {
            let deleted = try store.deleteFinishedTasks(before: clock.wallTime() - settings.asyncRetention)
            if deleted > 0 { logger.info("deleted expired async tasks", metadata: ["count": "\(deleted)"]) }
        } catch {
            logger.error("async task sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
