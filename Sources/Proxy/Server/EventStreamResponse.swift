import HTTPTypes
import Hummingbird
import NIOCore

/// Renders canonical chunks as one protocol's server-sent events.
protocol ChatEventEncoder: Sendable {
    /// Events for one chunk (none, one or several).
    mutating func encode(_ chunk: ChatChunk) -> [String]
    /// Events that end a stream that finished.
    mutating func finish() -> [String]
    /// Events that end a stream that failed midway.
    mutating func fail(_ error: GatewayError) -> [String]
}

extension ChatEventEncoder {
    static func event(_ data: JSONValue, name: String? = nil) -> String {
        let payload = String(decoding: data.serialized(), as: UTF8.self)
        return name.map { "event: \($0)\ndata: \(payload)\n\n" } ?? "data: \(payload)\n\n"
    }
}

/// A `text/event-stream` response relaying `stream` chunk by chunk as it arrives: an upstream chunk is
/// written to the client as soon as it is read, and nothing is held back. The upstream is read by a task
/// of its own that is cancelled when the client goes away, which cancels the upstream request; it reads
/// one chunk ahead of the client and no more, so a client that stops reading stops the upstream read too
/// (until the connection's write timeout closes it).
func eventStreamResponse(
    _ stream: ChatChunkStream, encoder: some ChatEventEncoder, headers: HTTPFields, channel: any Channel,
    watcher: DisconnectWatcher
) -> Response {
    let (chunks, continuation) = AsyncThrowingStream<ChatChunk, any Error>.makeStream()
    // One element per chunk the writer is ready for.
    let (demand, demandContinuation) = AsyncStream<Void>.makeStream()
    let producer = Task {
        do {
            for await _ in demand {
                guard let chunk = try await stream.next() else { break }
                continuation.yield(chunk)
            }
            continuation.finish()
        } catch {
            continuation.finish(throwing: error)
        }
    }
    continuation.onTermination = { _ in producer.cancel() }
    let registration = watcher.watch(channel) { producer.cancel() }
    var fields = headers
    fields[.contentType] = "text/event-stream"
    fields[.cacheControl] = "no-cache"
    return Response(
        status: .ok, headers: fields,
        body: ResponseBody { writer in
            defer {
                watcher.unwatch(registration)
                demandContinuation.finish()
            }
            var encoder = encoder
            do {
                var iterator = chunks.makeAsyncIterator()
                demandContinuation.yield()
                while let chunk = try await iterator.next() {
                    // The next chunk is read while this one is written.
                    demandContinuation.yield()
                    for event in encoder.encode(chunk) { try await writer.write(ByteBuffer(string: event)) }
                }
                for event in encoder.finish() { try await writer.write(ByteBuffer(string: event)) }
            } catch {
                let failure =
                    (error as? UpstreamFailure)?.gatewayError ?? (error as? GatewayError)
                    ?? GatewayError(.upstreamFailed, "The upstream stream failed.", code: "stream_failed")
                for event in encoder.fail(failure) { try? await writer.write(ByteBuffer(string: event)) }
            }
            try await writer.finish(nil)
        })
}
