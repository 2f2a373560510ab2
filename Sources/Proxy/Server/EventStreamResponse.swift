import HTTPTypes
import Hummingbird
import NIOCore

/// A streamed response (`text/event-stream`, or the encoder's own content type) relaying `stream` chunk by chunk as it arrives: an upstream chunk is
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
    fields[.contentType] = encoder.contentType
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
