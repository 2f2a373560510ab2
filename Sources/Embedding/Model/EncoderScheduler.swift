import Foundation
import Synchronization

/// Runs forward passes on dedicated threads, batching the texts of concurrent callers.
///
/// Each worker owns a serial queue and a workspace. A caller's texts join a shared queue; an idle worker
/// takes every waiting text up to `maxBatchTokens` and encodes them in one pass. Callers of a batch are
/// resumed together when it finishes.
final class EncoderScheduler: Sendable {
    private struct Job {
        let texts: [[Int32]]
        let continuation: CheckedContinuation<[EncodedText], Never>
        var tokens: Int { texts.reduce(0) { $0 + $1.count } }
    }

    private struct State {
        var waiting: [Job] = []
        var idleWorkers: [Int]
        var batchSizes = EncoderLoad()
    }

    private final class Worker: @unchecked Sendable {
        let queue: DispatchQueue
        /// Touched only on `queue`.
        let workspace: EncoderWorkspace

        init(index: Int, configuration: BertConfiguration) {
            queue = DispatchQueue(label: "routershift.embedding.\(index)", qos: .userInitiated)
            workspace = EncoderWorkspace(configuration: configuration)
        }
    }

    private let encoder: BertEncoder
    private let workers: [Worker]
    private let maxBatchTokens: Int
    private let state: Mutex<State>

    init(encoder: BertEncoder, threads: Int, maxBatchTokens: Int) {
        self.encoder = encoder
        self.maxBatchTokens = maxBatchTokens
        workers = (0..<threads).map { Worker(index: $0, configuration: encoder.configuration) }
        state = Mutex(State(idleWorkers: Array(0..<threads)))
    }

    func encode(_ texts: [[Int32]]) async -> [EncodedText] {
        await withCheckedContinuation { continuation in
            let worker = state.withLock { state -> Int? in
                state.waiting.append(Job(texts: texts, continuation: continuation))
                return state.idleWorkers.popLast()
            }
            if let worker { start(worker) }
        }
    }

    /// Texts waiting now and the batch sizes so far.
    var load: EncoderLoad {
        state.withLock { state in
            var load = state.batchSizes
            load.waitingTexts = state.waiting.reduce(0) { $0 + $1.texts.count }
            return load
        }
    }

    var workspaceBytes: Int {
        workers.reduce(0) { total, worker in total + worker.queue.sync { worker.workspace.bytes } }
    }

    private func start(_ index: Int) {
        let worker = workers[index]
        worker.queue.async { [self] in
            while let batch = takeBatch(releasing: index) {
                let vectors = LocalEmbedder.encode(
                    batch.flatMap(\.texts), encoder: encoder, workspace: worker.workspace)
                var offset = 0
                for job in batch {
                    job.continuation.resume(returning: Array(vectors[offset..<offset + job.texts.count]))
                    offset += job.texts.count
                }
            }
        }
    }

    /// The next batch for worker `index`, or nil after marking it idle when nothing waits.
    private func takeBatch(releasing index: Int) -> [Job]? {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.idleWorkers.append(index)
                return nil
            }
            var batch = [state.waiting.removeFirst()]
            var tokens = batch[0].tokens
            while let next = state.waiting.first, tokens + next.tokens <= maxBatchTokens {
                tokens += next.tokens
                batch.append(state.waiting.removeFirst())
            }
            state.batchSizes.recordBatch(texts: batch.reduce(0) { $0 + $1.texts.count })
            return batch
        }
    }
}
