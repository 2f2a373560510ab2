import AsyncHTTPClient
import NIOCore

/// Canonical chunks read on demand from an upstream's event stream: no chunk is read before the client
/// is ready for it, and a stream that ends before its protocol's final event fails instead of ending.
/// Silence is bounded: the first chunk must come by the attempt's deadline, and each later read within
/// the provider's timeout.
///
/// Read by one task at a time.
final class ChatChunkSource: @unchecked Sendable {
    private var bytes: HTTPClientResponse.Body.AsyncIterator?
    private var parser: ServerSentEventParser
    private var decoder: any ChatStreamDecoder
    private var pending: [ChatChunk] = []
    private var pendingIndex = 0
    private let silenceTimeout: Double?
    private let firstChunkDeadline: NIODeadline?
    private var delivered = false

    /// - Parameters:
    ///   - maxEventBytes: the largest line or event the stream may send; a larger one fails it.
    ///   - silenceTimeout: the longest wait, in seconds, for the upstream's next bytes (a provider's `timeout`).
    ///   - firstChunkDeadline: when the first chunk must have come (the attempt's deadline).
    init(
        body: HTTPClientResponse.Body, decoder: any ChatStreamDecoder,
        maxEventBytes: Int = ServerSentEventParser.defaultMaxEventBytes, silenceTimeout: Double? = nil,
        firstChunkDeadline: NIODeadline? = nil
    ) {
        bytes = body.makeAsyncIterator()
        self.decoder = decoder
        parser = ServerSentEventParser(maxEventBytes: maxEventBytes)
        self.silenceTimeout = silenceTimeout
        self.firstChunkDeadline = firstChunkDeadline
    }

    /// A source of `chunks` already in hand: a whole answer to a stream request.
    init(chunks: [ChatChunk], decoder: any ChatStreamDecoder) {
        bytes = nil
        self.decoder = decoder
        parser = ServerSentEventParser()
        pending = chunks
        silenceTimeout = nil
        firstChunkDeadline = nil
    }

    private final class IteratorBox: @unchecked Sendable {
        var iterator: HTTPClientResponse.Body.AsyncIterator
        init(_ iterator: HTTPClientResponse.Body.AsyncIterator) { self.iterator = iterator }
    }

    /// The next bytes, or `UpstreamFailure.timeout` when they do not come in time.
    private func read(_ iterator: inout HTTPClientResponse.Body.AsyncIterator) async throws -> ByteBuffer? {
        var wait = silenceTimeout.map { TimeAmount.nanoseconds(Int64(min($0, 1e9) * 1e9)) }
        if !delivered, let firstChunkDeadline {
            let remaining = firstChunkDeadline - .now()
            wait = wait.map { min($0, remaining) } ?? remaining
        }
        guard let wait else { return try await iterator.next() }
        guard wait > .zero else { throw UpstreamFailure.timeout }
        let box = IteratorBox(iterator)
        defer { iterator = box.iterator }
        return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await box.iterator.next() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds))
                throw UpstreamFailure.timeout
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    private static func overflow(_ error: ServerSentEventParser.Overflow) -> UpstreamFailure {
        .malformed("a stream event exceeds \(error.limit) bytes (routing.max_stream_event_bytes)")
    }

    func next() async throws(UpstreamFailure) -> ChatChunk? {
        while pendingIndex >= pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            guard var iterator = bytes else { return nil }
            if decoder.isComplete {
                bytes = nil
                return nil
            }
            let buffer: ByteBuffer?
            do {
                buffer = try await read(&iterator)
            } catch {
                bytes = nil
                throw UpstreamClient.failure(error)
            }
            bytes = iterator
            guard let buffer else {
                bytes = nil
                let last: [ServerSentEvent]
                do throws(ServerSentEventParser.Overflow) {
                    last = try parser.finish()
                } catch {
                    throw Self.overflow(error)
                }
                for event in last { pending += try decoder.decode(event) }
                if !decoder.isComplete && pending.isEmpty {
                    throw .connection("the upstream closed the stream before it finished")
                }
                continue
            }
            let events: [ServerSentEvent]
            do throws(ServerSentEventParser.Overflow) {
                events = try parser.feed(buffer)
            } catch {
                // Drops the upstream response, which closes its connection.
                bytes = nil
                throw Self.overflow(error)
            }
            for event in events { pending += try decoder.decode(event) }
        }
        defer { pendingIndex += 1 }
        delivered = true
        return pending[pendingIndex]
    }
}
