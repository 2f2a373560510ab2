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
package struct ServerSentEventParser: Sendable {
    package init() {}

    private var line: [UInt8] = []
    private var lastWasCarriageReturn = false
    private var event: String?
    private var data: [String] = []

    package mutating func feed(_ buffer: ByteBuffer) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                if byte == UInt8(ascii: "\n") && lastWasCarriageReturn {
                    lastWasCarriageReturn = false
                    continue
                }
                lastWasCarriageReturn = byte == UInt8(ascii: "\r")
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                    if let dispatched = endLine() { events.append(dispatched) }
                } else {
                    line.append(byte)
                }
            }
        }
        return events
    }

    /// Dispatches an event left open when the stream ended without a blank line.
    package mutating func finish() -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        if !line.isEmpty, let dispatched = endLine() { events.append(dispatched) }
        if let dispatched = endLine() { events.append(dispatched) }
        return events
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard !data.isEmpty || event != nil else { return nil }
            let dispatched = ServerSentEvent(event: event, data: data.joined(separator: "\n"))
            event = nil
            data = []
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
        case "data": data.append(value)
        default: break
        }
        return nil
    }
}
