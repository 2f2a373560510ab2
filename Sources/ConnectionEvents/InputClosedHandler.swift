import NIOCore

/// Reports that a connection's client went away: the end of its input or the connection's close.
///
/// Hummingbird allows half-closed connections, so a client that closes its socket ends only the
/// connection's input, and the channel (and its `closeFuture`) stays open. Added at the front of a
/// connection's pipeline, this handler sees the end of input as soon as it is read, without consuming
/// anything, so keep-alive is unaffected.
public final class InputClosedHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    public typealias InboundIn = NIOAny

    private let onClose: @Sendable () -> Void

    public init(onClose: @escaping @Sendable () -> Void) {
        self.onClose = onClose
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { onClose() }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        onClose()
        context.fireChannelInactive()
    }
}

extension Channel {
    /// Calls `body` once when the client goes away (or at once if it already has).
    public func whenClientGoesAway(_ body: @escaping @Sendable () -> Void) {
        pipeline.addHandler(InputClosedHandler(onClose: body), position: .first).whenFailure { _ in body() }
        closeFuture.whenComplete { _ in body() }
    }
}
