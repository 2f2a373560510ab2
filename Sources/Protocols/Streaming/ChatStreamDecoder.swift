import Canonical

/// Turns an upstream's stream events into canonical chunks; one per upstream protocol.
package protocol ChatStreamDecoder: Sendable {
    /// The chunks one event carries (often one, sometimes none).
    mutating func decode(_ event: ServerSentEvent) throws(UpstreamFailure) -> [ChatChunk]
    /// Whether the protocol's end-of-stream event has been seen.
    var isComplete: Bool { get }
}
