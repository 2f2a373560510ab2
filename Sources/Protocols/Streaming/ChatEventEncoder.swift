import Canonical

/// Renders canonical chunks as one protocol's server-sent events.
package protocol ChatEventEncoder: Sendable {
    /// Events for one chunk (none, one or several).
    mutating func encode(_ chunk: ChatChunk) -> [String]
    /// Events that end a stream that finished.
    mutating func finish() -> [String]
    /// Events that end a stream that failed midway.
    mutating func fail(_ error: GatewayError) -> [String]
    /// The stream's content type; `text/event-stream` by default.
    var contentType: String { get }
}

extension ChatEventEncoder {
    package var contentType: String { "text/event-stream" }

    package static func event(_ data: JSONValue, name: String? = nil) -> String {
        let payload = String(decoding: data.serialized(), as: UTF8.self)
        return name.map { "event: \($0)\ndata: \(payload)\n\n" } ?? "data: \(payload)\n\n"
    }
}
