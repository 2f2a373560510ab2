import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One span as OTLP exported it: enough of it to place it in its trace and time it.
struct ReceivedSpan: Sendable {
    var traceID: [UInt8] = []
    var spanID: [UInt8] = []
    var parentID: [UInt8] = []
    var name = ""
    var start: UInt64 = 0
    var end: UInt64 = 0

    var milliseconds: Double { Double(end &- start) / 1e6 }
}

/// An OTLP/HTTP trace receiver on loopback (`POST /v1/traces`, protobuf), for benchmarks that read the
/// gateway's own spans: it keeps every span it is sent and answers each export with an empty
/// `ExportTraceServiceResponse`.
final class SpanReceiver: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let received: ReceivedSpans
    let url: String

    init() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let received = ReceivedSpans()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(ExportHandler(received: received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.group = group
        self.channel = channel
        self.received = received
        url = "http://127.0.0.1:\(channel.localAddress?.port ?? 0)/v1/traces"
    }

    /// Every span received so far.
    var spans: [ReceivedSpan] { received.spans.withLock { $0 } }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// The spans received, shared by the connections' handlers.
private final class ReceivedSpans: Sendable {
    let spans = Mutex<[ReceivedSpan]>([])
}

/// Collects an export's body, decodes its spans, answers 200.
private final class ExportHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let received: ReceivedSpans
    private var body: [UInt8] = []

    init(received: ReceivedSpans) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            body.removeAll(keepingCapacity: true)
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            let spans = (try? OTLPTraceDecoding.spans(in: body)) ?? []
            received.spans.withLock { $0 += spans }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/x-protobuf")
            headers.add(name: "Content-Length", value: "0")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

/// The fields of an OTLP `ExportTraceServiceRequest` a timing needs, read from the protobuf wire format:
/// resource_spans (1) → scope_spans (2) → spans (2) → trace_id (1), span_id (2), parent_span_id (4),
/// name (5), start (7, fixed64) and end (8, fixed64) in Unix nanoseconds.
enum OTLPTraceDecoding {
    struct Malformed: Error {}

    static func spans(in bytes: [UInt8]) throws -> [ReceivedSpan] {
        var spans: [ReceivedSpan] = []
        try fields(bytes[...]) { number, value in
            guard number == 1, case .bytes(let resource) = value else { return }
            try fields(resource) { number, value in
                guard number == 2, case .bytes(let scope) = value else { return }
                try fields(scope) { number, value in
                    guard number == 2, case .bytes(let span) = value else { return }
                    spans.append(try decodeSpan(span))
                }
            }
        }
        return spans
    }

    private static func decodeSpan(_ bytes: ArraySlice<UInt8>) throws -> ReceivedSpan {
        var span = ReceivedSpan()
        try fields(bytes) { number, value in
            switch (number, value) {
            case (1, .bytes(let value)): span.traceID = Array(value)
            case (2, .bytes(let value)): span.spanID = Array(value)
            case (4, .bytes(let value)): span.parentID = Array(value)
            case (5, .bytes(let value)): span.name = String(decoding: value, as: UTF8.self)
            case (7, .fixed64(let value)): span.start = value
            case (8, .fixed64(let value)): span.end = value
            default: break
            }
        }
        return span
    }

    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    /// Calls `body` with each field of the message in `bytes`.
    static func fields(_ bytes: ArraySlice<UInt8>, _ body: (Int, Value) throws -> Void) throws {
        var position = bytes.startIndex
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < bytes.endIndex, shift < 64 else { throw Malformed() }
                let byte = bytes[position]
                position += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        func fixed(_ width: Int) throws -> UInt64 {
            guard bytes.endIndex - position >= width else { throw Malformed() }
            var result: UInt64 = 0
            for offset in 0..<width { result |= UInt64(bytes[position + offset]) << (8 * UInt64(offset)) }
            position += width
            return result
        }
        while position < bytes.endIndex {
            let tag = try varint()
            let number = Int(tag >> 3)
            switch tag & 7 {
            case 0: try body(number, .varint(try varint()))
            case 1: try body(number, .fixed64(try fixed(8)))
            case 2:
                let length = Int(try varint())
                guard length >= 0, bytes.endIndex - position >= length else { throw Malformed() }
                let value = bytes[position..<position + length]
                position += length
                try body(number, .bytes(value))
            case 5: try body(number, .fixed32(UInt32(try fixed(4))))
            default: throw Malformed()
            }
        }
    }
}
