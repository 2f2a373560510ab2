import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import Proxy

/// What an upstream stream can make the gateway hold: one line, one event, the captured answer.
@Suite struct StreamLimitTests {
    @Test func refusesALineThatNeverEnds() throws {
        var parser = ServerSentEventParser(maxEventBytes: 1024)
        #expect(try parser.feed(ByteBuffer(repeating: UInt8(ascii: "a"), count: 1023)).isEmpty)
        #expect(throws: ServerSentEventParser.Overflow(limit: 1024)) {
            _ = try parser.feed(ByteBuffer(repeating: UInt8(ascii: "a"), count: 2))
        }
    }

    @Test func refusesAnEventWhoseDataLinesPassTheLimit() throws {
        var parser = ServerSentEventParser(maxEventBytes: 1024)
        let line = ByteBuffer(string: "data: " + String(repeating: "x", count: 99) + "\n")
        // Ten lines of 99 bytes and their nine newlines: 999 bytes, an event the parser may hold.
        for _ in 0..<10 { #expect(try parser.feed(line).isEmpty) }
        #expect(throws: ServerSentEventParser.Overflow(limit: 1024)) { _ = try parser.feed(line) }
    }

    @Test func keepsEventsUpToTheLimit() throws {
        var parser = ServerSentEventParser(maxEventBytes: 1024)
        // `data: ` and 1018 bytes: a line of 1024 bytes, the most the parser holds.
        let data = String(repeating: "y", count: 1018)
        for _ in 0..<3 {
            #expect(try parser.feed(ByteBuffer(string: "data: \(data)\n\n")) == [ServerSentEvent(data: data)])
        }
    }

    /// An upstream sending one endless line in 64 KiB chunks: the source fails once it has read the limit,
    /// and reads nothing more.
    @Test func anEndlessLineFailsTheSourceAfterTheLimit() async throws {
        let pulled = Shared(0)
        // Made on demand, so only what is pulled exists.
        let endless = AsyncStream<ByteBuffer>(unfolding: {
            let count = pulled.update { count in
                count += 1
                return count
            }
            return count <= 1000 ? ByteBuffer(repeating: UInt8(ascii: "a"), count: 64 << 10) : nil
        })
        let source = ChatChunkSource(
            body: .stream(endless), decoder: OpenAIStreamDecoder(publicModel: "m"), maxEventBytes: 1 << 20)
        let failure = await #expect(throws: UpstreamFailure.self) { _ = try await source.next() }
        guard case .malformed(let reason) = failure else {
            Issue.record("not a malformed answer: \(String(describing: failure))")
            return
        }
        #expect(reason.contains("routing.max_stream_event_bytes"))
        #expect(pulled.update { $0 } <= 17)
        #expect(try await source.next() == nil)
    }

    @Test func theAccumulatorDropsContentPastItsLimitAndStillCounts() {
        var accumulator = ChatStreamAccumulator(maxRetainedBytes: 1000)
        let text = String(repeating: "z", count: 100)
        for _ in 0..<20 {
            accumulator.add(ChatChunk(id: "c", model: "m", created: 0, choices: [ChunkChoice(index: 0, text: text)]))
        }
        accumulator.add(
            ChatChunk(id: "c", model: "m", created: 0, choices: [ChunkChoice(index: 0, finishReason: .stop)]))
        #expect(accumulator.overflowed)
        #expect(!accumulator.isComplete)
        #expect(accumulator.textLength == 2000)
        #expect(accumulator.response.choices.isEmpty)
    }

    @Test func anAccumulatorWithinItsLimitRebuildsTheAnswer() {
        var accumulator = ChatStreamAccumulator(maxRetainedBytes: 1000)
        accumulator.add(ChatChunk(id: "c", model: "m", created: 0, choices: [ChunkChoice(index: 0, text: "hello")]))
        accumulator.add(
            ChatChunk(id: "c", model: "m", created: 0, choices: [ChunkChoice(index: 0, finishReason: .stop)]))
        #expect(accumulator.isComplete)
        #expect(accumulator.response.choices.first?.message.text == "hello")
    }

    /// One good chunk, then a line without end: the client gets the chunk, an error event in its
    /// protocol, and the end of the stream; the upstream is no longer read.
    @Test(.timeLimit(.minutes(1))) func aStreamWhoseLineNeverEndsEndsWithAnErrorEvent() async throws {
        let written = Shared(0)
        let router = Router()
        router.post("/v1/chat/completions") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in
                    let chunk =
                        #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","#
                        + #""choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}"#
                    try await writer.write(ByteBuffer(string: "data: \(chunk)\n\ndata: "))
                    for _ in 0..<16384 {
                        try await writer.write(ByteBuffer(repeating: UInt8(ascii: "a"), count: 16 << 10))
                        written.update { $0 += 1 }
                    }
                    try await writer.finish(nil)
                })
        }
        try await TestUpstream.run(router) { upstream in
            let yaml = """
                providers:
                  - { name: hostile, kind: openai, base_url: "\(upstream)/v1" }
                models:
                  - { name: endless, deployments: [ { provider: hostile, model: m } ] }
                routing: { max_stream_event_bytes: 65536 }
                cache: { enabled: false }
                """
            try await LiveGateway.run(yaml: yaml) { live in
                let answer = try await live.post(
                    "/v1/chat/completions",
                    ["model": "endless", "stream": true, "messages": [["role": "user", "content": "hi"]]])
                #expect(answer.status == 200)
                #expect(answer.text.contains(#""content":"hi""#))
                #expect(answer.text.contains("routing.max_stream_event_bytes"))
                #expect(answer.text.contains(#""error""#))
            }
        }
        // The gateway stopped reading: far less than the 256 MiB the upstream would send was taken. What the
        // upstream wrote includes what loopback's socket buffers hold (they grow to several MiB each way).
        #expect(written.update { $0 } < 4096)
    }

    /// A client that sends a stream request and never reads: the gateway stops reading the upstream once
    /// the client's connection is full, and closes it at the write timeout.
    // Three minutes, as a guard against a hang: beside a benchmark on both cores it once took more than one.
    @Test(.timeLimit(.minutes(3))) func aClientThatStopsReadingIsCutOffWithoutReadingAhead() async throws {
        let written = Shared(0)
        let ended = Shared(false)
        let total = 8192
        let router = Router()
        router.post("/v1/chat/completions") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in
                    defer { ended.update { $0 = true } }
                    let chunk =
                        #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"#
                        + #""delta":{"content":""# + String(repeating: "w", count: 16_000) + #""}}]}"#
                    for _ in 0..<total {
                        try await writer.write(ByteBuffer(string: "data: \(chunk)\n\n"))
                        written.update { $0 += 1 }
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    try await writer.finish(nil)
                })
        }
        try await TestUpstream.run(router) { upstream in
            let yaml = """
                server: { write_timeout: 300ms }
                providers:
                  - { name: flood, kind: openai, base_url: "\(upstream)/v1" }
                models:
                  - { name: flood, deployments: [ { provider: flood, model: m } ] }
                cache: { enabled: false }
                """
            try await LiveGateway.run(yaml: yaml) { live in
                let body = #"{"model":"flood","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
                let connection = try RawConnection(baseURL: live.baseURL)
                connection.send(
                    "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
                        + "\(LiveGateway.masterKey)\r\nContent-Type: application/json\r\nContent-Length: "
                        + "\(body.utf8.count)\r\n\r\n\(body)")
                while !ended.update({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                #expect(written.update { $0 } < total)
                #expect(await connection.readToEnd().closed)
            }
        }
    }
}
