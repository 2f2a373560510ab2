import AsyncHTTPClient
import NIOCore

/// Canonical chunks read on demand from an upstream's event stream: no chunk is read before the client
/// is ready for it, and a stream that ends before its protocol's final event fails instead of ending.
///
/// Read by one task at a time.
final class ChatChunkSource: @unchecked Sendable {
    private var bytes: HTTPClientResponse.Body.AsyncIterator?
    private var parser = ServerSentEventParser()
    private var decoder: any ChatStreamDecoder
    private var pending: [ChatChunk] = []
    private var pendingIndex = 0

    init(body: HTTPClientResponse.Body, decoder: any ChatStreamDecoder) {
        bytes = body.makeAsyncIterator()
        self.decoder = decoder
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
                buffer = try await iterator.next()
            } catch {
                bytes = nil
                throw UpstreamClient.failure(error)
            }
            bytes = iterator
            guard let buffer else {
                bytes = nil
                for event in parser.finish() { pending += try decoder.decode(event) }
                if !decoder.isComplete && pending.isEmpty {
                    throw .connection("the upstream closed the stream before it finished")
                }
                continue
            }
            for event in parser.feed(buffer) { pending += try decoder.decode(event) }
        }
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }
}
