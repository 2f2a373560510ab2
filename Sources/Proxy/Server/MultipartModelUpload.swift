import Hummingbird
import NIOCore
import Protocols

/// A multipart upload routed by its `model` field: the body is read up to the end of that field (to
/// authorise and route the model), the field's value is rewritten to the deployment's model, and the rest
/// streams through as it arrives, still scanned so that a second `model` part fails the upload.
///
/// Only a real part named `model` counts: text that looks like one inside a file's data is content.
final class MultipartModelUpload: @unchecked Sendable {
    /// The longest `model` value accepted.
    static let maxModelBytes = 256

    /// The `model` field's value, as the client sent it.
    let model: String
    /// The bytes read to find the field, from the start of the body.
    private let head: ByteBuffer
    private let valueRange: Range<Int>
    private let guardian: RestGuard
    private let body: PrefixedBody

    /// Why the rest of the upload was refused, once it was.
    var rejection: GatewayError? { guardian.rejection }

    private init(
        model: String, head: ByteBuffer, valueRange: Range<Int>, scanner: MultipartScanner,
        rest: RequestBody.AsyncIterator?
    ) {
        self.model = model
        self.head = head
        self.valueRange = valueRange
        let guardian = RestGuard(scanner: scanner)
        self.guardian = guardian
        body = PrefixedBody(prefix: head, rest: rest, inspect: { try guardian.inspect($0) })
    }

    /// Reads `body` up to the end of its `model` field.
    ///
    /// - Parameter limit: how far into the body the field must end (a file part before it counts).
    /// - Throws: a 400 naming `model` when there is none, two, one too long or one past `limit`; a 400 for a
    ///   malformed body.
    static func read(_ body: RequestBody, boundary: String, limit: Int) async throws -> MultipartModelUpload {
        var iterator = body.makeAsyncIterator()
        var scanner = MultipartScanner(boundary: boundary)
        var received = ByteBuffer()
        var opened = false
        var found: (value: String, range: Range<Int>)?
        var finished = false
        while found == nil {
            guard let chunk = try await iterator.next() else {
                finished = true
                break
            }
            received.writeImmutableBuffer(chunk)
            let events: [MultipartEvent]
            do throws(MultipartError) {
                events = try scanner.scan(chunk)
            } catch {
                throw GatewayError.invalid("The multipart body is malformed: \(error.message).")
            }
            for event in events {
                switch event {
                case .partBegan(let part) where part.name == "model":
                    guard !opened else { throw duplicate }
                    opened = true
                case .partEnded(let part, let end) where part.name == "model":
                    guard end - part.contentStart <= maxModelBytes else {
                        throw GatewayError.invalid(
                            "`model` is longer than \(maxModelBytes) bytes.", param: "model")
                    }
                    let bytes =
                        received.getBytes(
                            at: received.readerIndex + part.contentStart, length: end - part.contentStart) ?? []
                    guard let value = String(validating: bytes, as: UTF8.self) else {
                        throw GatewayError.invalid("`model` is not valid UTF-8.", param: "model")
                    }
                    found = (value, part.contentStart..<end)
                default: break
                }
            }
            if found.map({ $0.range.upperBound > limit }) ?? (received.readableBytes > limit) {
                throw GatewayError.invalid(
                    "The `model` field must end within the first \(limit) bytes of the multipart body: send it "
                        + "before the file.", param: "model")
            }
        }
        guard let found else { throw GatewayError.invalid("The multipart body has no `model` field.", param: "model") }
        return MultipartModelUpload(
            model: found.value, head: received, valueRange: found.range, scanner: scanner,
            rest: finished ? nil : iterator)
    }

    /// The body to send upstream, its `model` field set to `model`. Read once.
    func body(rewritingModelTo model: String) -> PrefixedBody {
        var rewritten = ByteBuffer()
        rewritten.reserveCapacity(head.readableBytes - valueRange.count + model.utf8.count)
        let start = head.readerIndex
        rewritten.writeImmutableBuffer(head.getSlice(at: start, length: valueRange.lowerBound)!)
        rewritten.writeString(model)
        rewritten.writeImmutableBuffer(
            head.getSlice(at: start + valueRange.upperBound, length: head.readableBytes - valueRange.upperBound)!)
        body.replacePrefix(with: rewritten)
        return body
    }

    static let duplicate = GatewayError.invalid("The multipart body has more than one `model` field.", param: "model")

    /// Scans the rest of the body as it passes: one `model` part only, well-formed headers.
    private final class RestGuard: @unchecked Sendable {
        private var scanner: MultipartScanner
        private(set) var rejection: GatewayError?

        init(scanner: MultipartScanner) {
            self.scanner = scanner
        }

        func inspect(_ buffer: ByteBuffer) throws {
            do {
                for case .partBegan(let part) in try scanner.scan(buffer) where part.name == "model" {
                    rejection = MultipartModelUpload.duplicate
                    throw MultipartModelUpload.duplicate
                }
            } catch let error as MultipartError {
                let refusal = GatewayError.invalid("The multipart body is malformed: \(error.message).")
                rejection = refusal
                throw refusal
            }
        }
    }
}
