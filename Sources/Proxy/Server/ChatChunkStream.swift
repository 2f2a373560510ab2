/// The chunks of a streamed chat answer as the routes read them: those already in hand (an upstream's first
/// chunk, or a cached answer), then the upstream's. Watches the stream pass and reports how it ended.
final class ChatChunkStream: @unchecked Sendable {
    private var pending: [ChatChunk]
    private var pendingIndex = 0
    private let source: ChatChunkSource?
    private var accumulator: ChatStreamAccumulator
    private let onEnd: @Sendable (_ answer: ChatStreamAccumulator, _ completed: Bool) -> Void
    private var ended = false

    /// - Parameters:
    ///   - accumulator: what keeps the answer as it passes (see its retention limit).
    ///   - onEnd: called once, with what passed and whether the stream reached its end (nothing failed or
    ///     was abandoned), when it ends, fails or is abandoned. The cache also wants `answer.isComplete`.
    init(
        first: [ChatChunk], source: ChatChunkSource?, accumulator: ChatStreamAccumulator = ChatStreamAccumulator(),
        onEnd: @escaping @Sendable (_ answer: ChatStreamAccumulator, _ completed: Bool) -> Void
    ) {
        pending = first
        self.source = source
        self.accumulator = accumulator
        self.onEnd = onEnd
    }

    func next() async throws -> ChatChunk? {
        var chunk: ChatChunk?
        if pendingIndex < pending.count {
            chunk = pending[pendingIndex]
            pendingIndex += 1
        } else if let source {
            do {
                chunk = try await source.next()
            } catch {
                end(completed: false)
                throw error
            }
        }
        guard let chunk else {
            end(completed: true)
            return nil
        }
        accumulator.add(chunk)
        return chunk
    }

    private func end(completed: Bool) {
        guard !ended else { return }
        ended = true
        onEnd(accumulator, completed)
    }

    deinit { end(completed: false) }
}
