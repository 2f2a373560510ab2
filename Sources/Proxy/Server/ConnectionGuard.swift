import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import RouterShiftConfiguration
import Synchronization

/// Time and count limits on client connections, enforced on each connection's pipeline (after HTTP
/// decoding, before Hummingbird handles requests):
///
/// - a new connection must send its request head within `headerTimeout`, and a kept-alive one its next
///   head within `idleTimeout` of the last response;
/// - a request body must arrive whole within `bodyTimeout` of its head: a timer that bytes do not reset, so
///   a body trickled one byte at a time is cut off;
/// - a client that stops reading (the connection stays unwritable) is cut off after `writeTimeout`; while
///   it is unwritable, response writers wait, so nothing reads the upstream ahead;
/// - past `maxConnections` open connections, a request is answered 503 in its protocol's error format and
///   its connection closed, before any route runs;
/// - a `/v1` request that announces a body over `maxBodyBytes` is answered 413 at once, without waiting
///   for the body (a transcription upload, streamed through, is exempt);
/// - a request the HTTP decoder refuses (headers over `maxRequestHeaderBytes`: 431; malformed: 400) is
///   answered in its protocol's error format, its path read by a ``RequestTargetSniffer`` ahead of the
///   decoder, where Hummingbird would send an empty 400.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The limits, and the count of connections they share.
    struct Limits: Sendable {
        var headerTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var bodyTimeout: TimeAmount
        var writeTimeout: TimeAmount
        var maxConnections: Int
        var maxBodyBytes: Int
        var maxRequestHeaderBytes: Int
        let open = OpenConnections()

        init(_ server: GatewayConfiguration.Server) {
            headerTimeout = .nanoseconds(Int64(server.requestHeaderTimeout * 1e9))
            idleTimeout = .nanoseconds(Int64(server.idleTimeout * 1e9))
            bodyTimeout = .nanoseconds(Int64(server.requestBodyTimeout * 1e9))
            writeTimeout = .nanoseconds(Int64(server.writeTimeout * 1e9))
            maxConnections = server.maxConnections
            maxBodyBytes = server.maxBodyBytes
            maxRequestHeaderBytes = server.maxRequestHeaderBytes
        }
    }

    /// Connections open on one server.
    final class OpenConnections: Sendable {
        private let count = Atomic<Int>(0)
        var current: Int { count.load(ordering: .relaxed) }
        func opened() -> Int { count.add(1, ordering: .relaxed).newValue }
        func closed() { count.subtract(1, ordering: .relaxed) }
    }

    private let limits: Limits
    private var counted = false
    private var overLimit = false
    private var shedding = false
    private var requestsInFlight = 0
    private var readingBody = false
    private var responding = false
    private let sniffer = RequestTargetSniffer()
    private var timer: Scheduled<Void>?
    private var writeTimer: Scheduled<Void>?

    init(limits: Limits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        overLimit = limits.open.opened() > limits.maxConnections
        counted = true
        arm(limits.headerTimeout, context: context)
        let pipeline = context.pipeline.syncOperations
        if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            try? pipeline.addHandler(sniffer, position: .before(decoder))
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        writeTimer?.cancel()
        if counted {
            counted = false
            limits.open.closed()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if shedding { return }
        switch part {
        case .head(let head):
            if overLimit {
                refuse(
                    path: head.path,
                    with: GatewayError(
                        .unavailable, "The gateway is at its connection limit; retry shortly.",
                        code: "too_many_connections", retryAfter: 1), context: context)
                return
            }
            if let announced = head.headerFields[.contentLength].flatMap(Int.init), announced > limits.maxBodyBytes,
                let path = head.path, path.hasPrefix("/v1/"), !path.hasPrefix("/v1/audio/transcriptions")
            {
                refuse(
                    path: head.path,
                    with: GatewayError(
                        .requestTooLarge, "The request body exceeds \(limits.maxBodyBytes) bytes.",
                        code: "request_too_large"), context: context)
                return
            }
            requestsInFlight += 1
            readingBody = true
            arm(limits.bodyTimeout, context: context)
        case .body:
            break
        case .end:
            readingBody = false
            sniffer.nextRequest()
            // Answered before its body was read (a refusal): the connection is idle now.
            if requestsInFlight == 0 { arm(limits.idleTimeout, context: context) } else { disarm() }
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // Not passed on: Hummingbird would answer an empty 400. A response already begun can only be cut.
        guard !responding, !shedding else {
            context.close(promise: nil)
            return
        }
        let refusal =
            parserError == .headerOverflow
            ? GatewayError(
                .headersTooLarge, "The request's headers exceed \(limits.maxRequestHeaderBytes) bytes.",
                code: "request_headers_too_large")
            : GatewayError.invalid("The request is not valid HTTP/1.1 (\(parserError)).")
        refuse(path: sniffer.path, with: refusal, context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responding = true
        case .body: break
        case .end: responding = false
        }
        if case .end = unwrapOutboundIn(data) {
            requestsInFlight -= 1
            // While a body is still arriving its timer stays.
            if requestsInFlight == 0 && !readingBody { arm(limits.idleTimeout, context: context) }
        }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            writeTimer?.cancel()
            writeTimer = nil
        } else if writeTimer == nil {
            let loop = context.eventLoop.assumeIsolated()
            writeTimer = loop.scheduleTask(in: limits.writeTimeout) { context.close(promise: nil) }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Closes the connection unless `disarm` or another `arm` comes first.
    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        timer?.cancel()
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(in: timeout) { context.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }

    /// Answers `error` in the caller's error format and closes the connection; the request is not handled.
    private func refuse(path: String?, with error: GatewayError, context: ChannelHandlerContext) {
        shedding = true
        disarm()
        let path = path.map { String($0.prefix { $0 != "?" }) } ?? "/"
        let body = ByteBuffer(bytes: error.body(for: ClientProtocol.forPath(path)).serialized())
        var fields: HTTPFields = [
            .contentType: "application/json", .contentLength: String(body.readableBytes), .connection: "close",
        ]
        if let retryAfter = error.retryAfter { fields[.retryAfter] = String(retryAfter) }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: error.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
