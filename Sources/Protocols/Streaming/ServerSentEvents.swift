import NIOCore

/// One server-sent event: its `event:` name if any and its `data:` lines joined by newlines.
package struct ServerSentEvent: Sendable, Equatable {
    package var event: String?
    package var data: String

    package init(event: String? = nil, data: String) {
        self.event = event
        self.data = data
    }
}

/// An incremental parser of `text/event-stream` bytes (WHATWG rules: LF, CR or CRLF line ends, `:`
/// comments, multi-line data, an event dispatched at a blank line).
///
/// Holds at most `maxEventBytes` of one line and of one event's data: an upstream that never ends a line
/// or an event fails the stream instead of growing the gateway.
package struct ServerSentEventParser: Sendable {
    /// A line or an event larger than the parser may hold.
    package struct Overflow: Error, Equatable {
        package let limit: Int

        package init(limit: Int) {
            self.limit = limit
        }
    }

    /// 1 MiB, `routing.max_stream_event_bytes` unless configured.
    package static let defaultMaxEventBytes = 1 << 20

    package let maxEventBytes: Int
    private var line: [UInt8] = []
    private var lastWasCarriageReturn = false
    private var event: String?
    private var data: [String] = []
    /// Bytes of `data`, with the newlines that will join them.
    private var dataBytes = 0

    package init(maxEventBytes: Int = Self.defaultMaxEventBytes) {
        self.maxEventBytes = maxEventBytes
    }

    /// The events `buffer` completes.
    ///
    /// - Throws: ``Overflow`` when a line or an event's data passes `maxEventBytes`; the parser is then
    ///   emptied and must not be fed again.
    package mutating func feed(_ buffer: ByteBuffer) throws(Overflow) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        var overflowed = false
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                if byte == UInt8(ascii: "\n") && lastWasCarriageReturn {
                    lastWasCarriageReturn = false
                    continue
                }
                lastWasCarriageReturn = byte == UInt8(ascii: "\r")
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                    if let dispatched = endLine() { events.append(dispatched) }
                    if dataBytes > maxEventBytes {
                        overflowed = true
                        return
                    }
                } else {
                    guard line.count < maxEventBytes else {
                        overflowed = true
                        return
                    }
                    line.append(byte)
                }
            }
        }
        if overflowed {
            reset()
            throw Overflow(limit: maxEventBytes)
        }
        return events
    }

    /// Dispatches an event left open when the stream ended without a blank line.
    ///
    /// - Throws: ``Overflow`` when that last line takes the event's data past `maxEventBytes`.
    package mutating func finish() throws(Overflow) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        if !line.isEmpty, let dispatched = endLine() { events.append(dispatched) }
        if dataBytes > maxEventBytes {
            reset()
            throw Overflow(limit: maxEventBytes)
        }
        if let dispatched = endLine() { events.append(dispatched) }
        return events
    }

    /// Frees what the parser holds.
    private mutating func reset() {
        line = []
        data = []
        dataBytes = 0
        event = nil
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard !data.isEmpty || event != nil else { return nil }
            let dispatched = ServerSentEvent(event: event, data: data.joined(separator: "\n"))
            event = nil
            data = []
            dataBytes = 0
            return dispatched
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = String(decoding: line[..<colon], as: UTF8.self)
        var valueStart = colon < line.endIndex ? line.index(after: colon) : colon
        if valueStart < line.endIndex && line[valueStart] == UInt8(ascii: " ") {
            valueStart = line.index(after: valueStart)
        }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        switch field {
        case "event": event = value
        case "data":
            // What is held: invalid UTF-8 decodes to U+FFFD, three bytes for each bad one.
            dataBytes += (data.isEmpty ? 0 : 1) + value.utf8.count
            data.append(value)
        default: break
        }
        return nil
    }
}
