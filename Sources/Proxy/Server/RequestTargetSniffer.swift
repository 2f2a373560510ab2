import NIOCore

/// Keeps the path of the request whose head is arriving, read from the raw bytes ahead of the HTTP
/// decoder: a head the decoder refuses (too large, malformed) never reaches a handler as a request, and its
/// refusal must still be in its caller's protocol, which the path decides.
///
/// It holds at most the first ``limit`` bytes of a request line. Requests pipelined behind one another in a
/// single read keep the first one's path; their refusal then falls back to that protocol's format.
final class RequestTargetSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let limit = 2048
    private var line: [UInt8] = []
    private var reading = true
    /// The path (without its query) of the request being read, once its request line has arrived.
    private(set) var path: String?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if reading {
            let bytes = unwrapInboundIn(data).readableBytesView.prefix(Self.limit - line.count)
            if let end = bytes.firstIndex(of: UInt8(ascii: "\n")) {
                line += bytes[..<end]
                finishLine()
            } else {
                line += bytes
                if line.count >= Self.limit { finishLine() }
            }
        }
        context.fireChannelRead(data)
    }

    /// The request was read whole: the next bytes begin another one.
    func nextRequest() {
        line.removeAll(keepingCapacity: true)
        reading = true
        path = nil
    }

    private func finishLine() {
        reading = false
        // METHOD SP request-target SP HTTP-version
        let parts = line.split(separator: UInt8(ascii: " "), maxSplits: 2)
        guard parts.count >= 2 else { return }
        path = String(String(decoding: parts[1], as: UTF8.self).prefix { $0 != "?" })
    }
}
