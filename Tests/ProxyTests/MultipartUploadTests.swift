import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import Protocols
import Testing

@testable import Proxy

/// The multipart scanner and the transcription upload it guards: each byte read once, only real parts
/// count, one `model` field, and only that field rewritten.
@Suite struct MultipartUploadTests {
    static let boundary = "XyZ-boundary"

    struct Part {
        var name: String
        var filename: String?
        var content: [UInt8]
    }

    static func body(_ parts: [Part], boundary: String = MultipartUploadTests.boundary) -> [UInt8] {
        var bytes: [UInt8] = []
        for part in parts {
            var header = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
            if let filename = part.filename { header += "; filename=\"\(filename)\"\r\nContent-Type: audio/mpeg" }
            bytes += Array((header + "\r\n\r\n").utf8) + part.content + Array("\r\n".utf8)
        }
        return bytes + Array("--\(boundary)--\r\n".utf8)
    }

    /// File data that looks like parts and like partial delimiters, none of them real.
    static let trickyAudio = Array(
        ("ID3\r\n--XyZ-boundar\r\n-\r\n--\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nevil\r\n"
            + "--XyZ-boundarx\r\n\r\n").utf8)

    static func scan(_ bytes: [UInt8], chunk size: Int) throws -> (events: [MultipartEvent], steps: Int) {
        var scanner = MultipartScanner(boundary: boundary)
        var events: [MultipartEvent] = []
        for start in stride(from: 0, to: bytes.count, by: size) {
            events += try scanner.scan(ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)]))
        }
        return (events, scanner.steps)
    }

    @Test func findsOnlyTheRealPartsWhateverTheChunking() throws {
        let bytes = Self.body([
            Part(name: "file", filename: "a.mp3", content: Self.trickyAudio),
            Part(name: "model", content: Array("whisper-1".utf8)),
        ])
        let whole = try Self.scan(bytes, chunk: bytes.count)
        let names = whole.events.compactMap { event -> String? in
            if case .partBegan(let part) = event { return part.name }
            return nil
        }
        #expect(names == ["file", "model"])
        guard whole.events.count == 5, case .partEnded(let model, let end) = whole.events[3] else {
            Issue.record("no end for the model part: \(whole.events)")
            return
        }
        #expect(String(decoding: bytes[model.contentStart..<end], as: UTF8.self) == "whisper-1")
        #expect(whole.events.last == .bodyEnded)
        for size in [1, 2, 3, 7, 64] {
            let chunked = try Self.scan(bytes, chunk: size)
            #expect(chunked.events == whole.events, "chunk size \(size)")
            #expect(chunked.steps == whole.steps, "chunk size \(size)")
        }
    }

    /// 256 KiB of near-delimiters and no `model`, one byte at a time: the work stays within twice the
    /// bytes (the quadratic rescan took the square).
    @Test func workIsLinearInOneByteChunks() throws {
        var file: [UInt8] = []
        while file.count < 256 << 10 { file += Array("\r\n--XyZ-boundar\r\n--XyZ-\r\r\n-".utf8) }
        let bytes = Self.body([Part(name: "file", filename: "a.mp3", content: file)])
        let scanned = try Self.scan(bytes, chunk: 1)
        #expect(scanned.steps <= 2 * bytes.count)
        #expect(scanned.events.count == 3)
    }

    @Test func refusesPartHeadersLargerThanTheBound() {
        let bytes = Array(("--\(Self.boundary)\r\nX-Padding: " + String(repeating: "p", count: 20_000)).utf8)
        #expect(throws: MultipartError.self) { _ = try Self.scan(bytes, chunk: 1000) }
    }

    // MARK: - The transcription route

    static func yaml(upstream: String) -> String {
        """
        providers:
          - { name: recorder, kind: openai, base_url: "\(upstream)/v1" }
        models:
          - { name: whisper-1, endpoints: [audio_transcription], deployments: [ { provider: recorder, model: upstream-whisper } ] }
        cache: { enabled: false }
        """
    }

    /// Runs a gateway in front of an upstream that records the bodies it receives.
    static func withRecordingGateway(
        _ body: @Sendable (LiveGateway, _ received: @Sendable () -> [[UInt8]]) async throws -> Void
    ) async throws {
        let received = Shared<[[UInt8]]>([])
        let router = Router()
        router.post("/v1/audio/transcriptions") { request, _ in
            let buffer = try await request.body.collect(upTo: 16 << 20)
            received.update { $0.append(Array(buffer.readableBytesView)) }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"text":"ok"}"#)))
        }
        try await TestUpstream.run(router) { upstream in
            try await LiveGateway.run(yaml: yaml(upstream: upstream)) { live in
                try await body(live, { received.update { $0 } })
            }
        }
    }

    static func upload(_ live: LiveGateway, _ bytes: [UInt8]) async throws -> (status: Int, body: JSONValue) {
        var request = HTTPClientRequest(url: live.baseURL + "/v1/audio/transcriptions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(LiveGateway.masterKey)")
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let response = try await live.client.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), (try? JSONValue.parse(answer.readableBytesView)) ?? .null)
    }

    @Test(.timeLimit(.minutes(1))) func rewritesOnlyTheRealModelPart() async throws {
        try await Self.withRecordingGateway { live, received in
            let sent = Self.body([
                Part(name: "file", filename: "a.mp3", content: Self.trickyAudio),
                Part(name: "model", content: Array("whisper-1".utf8)),
            ])
            let answer = try await Self.upload(live, sent)
            #expect(answer.status == 200)
            let expected = Self.body([
                Part(name: "file", filename: "a.mp3", content: Self.trickyAudio),
                Part(name: "model", content: Array("upstream-whisper".utf8)),
            ])
            #expect(received() == [expected])
        }
    }

    @Test(.timeLimit(.minutes(1))) func refusesASecondModelField() async throws {
        try await Self.withRecordingGateway { live, received in
            let audio = [UInt8](repeating: 7, count: 300_000)
            for parts in [
                [Part(name: "model", content: Array("whisper-1".utf8)), Part(name: "model", content: Array("x".utf8))],
                [
                    Part(name: "model", content: Array("whisper-1".utf8)),
                    Part(name: "file", filename: "a.mp3", content: audio),
                    Part(name: "model", content: Array("gpt-4o-transcribe".utf8)),
                ],
            ] {
                let answer = try await Self.upload(live, Self.body(parts))
                #expect(answer.status == 400)
                #expect(answer.body["error"]?["param"]?.string == "model")
                #expect(answer.body["error"]?["message"]?.string?.contains("more than one") == true)
            }
            // The second attempt reached the upstream, which saw only a part of it: never a whole body.
            #expect(received().isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1))) func refusesAModelFieldAfterALargeFile() async throws {
        try await Self.withRecordingGateway { live, received in
            let answer = try await Self.upload(
                live,
                Self.body([
                    Part(name: "file", filename: "a.mp3", content: [UInt8](repeating: 1, count: (1 << 20) + 1000)),
                    Part(name: "model", content: Array("whisper-1".utf8)),
                ]))
            #expect(answer.status == 400)
            #expect(answer.body["error"]?["param"]?.string == "model")
            #expect(received().isEmpty)
        }
    }
}
