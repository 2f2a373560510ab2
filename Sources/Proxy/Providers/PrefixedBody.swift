import Hummingbird
import NIOCore

/// A request body forwarded as it arrives: the part already read (and perhaps rewritten), then the rest of
/// the client's body, read from the connection only as the upstream takes it. Nothing beyond the prefix is
/// held in memory; it can be read once.
final class PrefixedBody: AsyncSequence, @unchecked Sendable {
    typealias Element = ByteBuffer

    private var prefix: ByteBuffer?
    private var rest: RequestBody.AsyncIterator?
    private let inspect: @Sendable (ByteBuffer) throws -> Void

    /// - Parameter inspect: sees each buffer of the rest before it goes upstream; what it throws fails the
    ///   upload.
    init(
        prefix: ByteBuffer, rest: RequestBody.AsyncIterator?,
        inspect: @escaping @Sendable (ByteBuffer) throws -> Void = { _ in }
    ) {
        self.prefix = prefix
        self.rest = rest
        self.inspect = inspect
    }

    /// Sets the part already read, before the body is read (the model field rewritten for a deployment).
    func replacePrefix(with buffer: ByteBuffer) {
        prefix = buffer
    }

    struct Iterator: AsyncIteratorProtocol {
        let body: PrefixedBody
        func next() async throws -> ByteBuffer? { try await body.next() }
    }

    func makeAsyncIterator() -> Iterator { Iterator(body: self) }

    private func next() async throws -> ByteBuffer? {
        if let prefix {
            self.prefix = nil
            if prefix.readableBytes > 0 { return prefix }
        }
        guard var iterator = rest else { return nil }
        let buffer = try await iterator.next()
        rest = buffer == nil ? nil : iterator
        if let buffer {
            do {
                try inspect(buffer)
            } catch {
                rest = nil
                throw error
            }
        }
        return buffer
    }
}
