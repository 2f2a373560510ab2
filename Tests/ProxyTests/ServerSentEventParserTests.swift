import NIOCore
import Testing

@testable import Proxy

@Suite struct ServerSentEventParserTests {
    @Test func splitsEventsAcrossArbitraryChunkBoundaries() throws {
        let text =
            "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: comment\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        for size in [1, 2, 3, 7, bytes.count] {
            var parser = ServerSentEventParser()
            var events: [ServerSentEvent] = []
            for start in stride(from: 0, to: bytes.count, by: size) {
                events += try parser.feed(ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)]))
            }
            events += try parser.finish()
            #expect(
                events == [
                    ServerSentEvent(event: "message_start", data: "{\"a\":1}"),
                    ServerSentEvent(event: nil, data: "line one\nline two"),
                    ServerSentEvent(event: nil, data: "[DONE]"),
                ], "chunk size \(size)")
        }
    }

    @Test func dispatchesAnUnterminatedLastEventAtTheEnd() throws {
        var parser = ServerSentEventParser()
        #expect(try parser.feed(ByteBuffer(string: "data: tail")).isEmpty)
        #expect(try parser.finish() == [ServerSentEvent(event: nil, data: "tail")])
    }
}
