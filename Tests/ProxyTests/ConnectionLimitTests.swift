import Foundation
import Testing

@testable import Proxy

/// Slow, silent and surplus client connections are cut off (configured with short timeouts; the
/// assertions are on what the client sees, not on durations).
@Suite struct ConnectionLimitTests {
    static func yaml(server: String) -> String {
        """
        server: { \(server) }
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
        models:
          - { name: m, deployments: [ { provider: mock, model: mock-small } ] }
        cache: { enabled: false }
        """
    }

    @Test(.timeLimit(.minutes(1))) func halfAHeadIsClosedAfterTheHeaderTimeout() async throws {
        try await LiveGateway.run(yaml: Self.yaml(server: "request_header_timeout: 200ms")) { live in
            let connection = try RawConnection(baseURL: live.baseURL)
            connection.send("GET /health HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
            #expect(await connection.readToEnd().closed)
        }
    }

    @Test(.timeLimit(.minutes(1))) func anIdleKeptAliveConnectionIsClosed() async throws {
        try await LiveGateway.run(yaml: Self.yaml(server: "idle_timeout: 1s")) { live in
            let connection = try RawConnection(baseURL: live.baseURL)
            connection.send("GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
            let answer = await connection.readToEnd()
            #expect(String(decoding: answer.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            #expect(answer.closed)
        }
    }

    /// A body that keeps arriving, one byte at a time, is cut off at the body timeout all the same.
    @Test(.timeLimit(.minutes(1))) func aTricklingBodyIsCutOff() async throws {
        try await LiveGateway.run(yaml: Self.yaml(server: "request_body_timeout: 300ms")) { live in
            let connection = try RawConnection(baseURL: live.baseURL)
            connection.send(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer \(LiveGateway.masterKey)"
                    + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
            var accepted = 0
            while accepted < 200, connection.send(" ") {
                accepted += 1
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(accepted < 200)
            #expect(await connection.readToEnd().closed)
        }
    }

    /// Past the connection limit, a request gets a 503 in its own protocol's format and the connection
    /// closes; the connections within the limit still work.
    @Test(.timeLimit(.minutes(1))) func connectionsPastTheLimitAreShedWithA503() async throws {
        try await LiveGateway.run(yaml: Self.yaml(server: "max_connections: 2")) { live in
            var held: [RawConnection] = []
            for _ in 0..<2 {
                let connection = try RawConnection(baseURL: live.baseURL)
                connection.send("GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
                guard case .data(let bytes) = await connection.read() else {
                    Issue.record("no answer within the limit")
                    return
                }
                #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
                held.append(connection)
            }
            let surplus = try RawConnection(baseURL: live.baseURL)
            surplus.send("POST /v1/messages HTTP/1.1\r\nHost: gateway\r\nContent-Length: 2\r\n\r\n{}")
            let answer = await surplus.readToEnd()
            let text = String(decoding: answer.bytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 503"))
            #expect(text.contains(#""type":"error""#))
            #expect(text.contains("too_many_connections") || text.contains("connection limit"))
            #expect(answer.closed)
            held[0].send("GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
            guard case .data(let bytes) = await held[0].read() else {
                Issue.record("a held connection stopped answering")
                return
            }
            #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        }
    }
}

extension ConnectionLimitTests {
    /// A body announced over the limit is refused before any of it is sent.
    @Test(.timeLimit(.minutes(1))) func aHugeContentLengthIsRefusedAtOnce() async throws {
        try await LiveGateway.run(yaml: Self.yaml(server: "max_body_bytes: 65536")) { live in
            let connection = try RawConnection(baseURL: live.baseURL)
            connection.send(
                "POST /v1/messages HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer \(LiveGateway.masterKey)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n")
            let answer = await connection.readToEnd()
            let text = String(decoding: answer.bytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 413"))
            #expect(text.contains(#""type":"error""#))
            #expect(text.contains("65536"))
        }
    }
}

extension ConnectionLimitTests {
    /// Headers past `server.max_request_header_bytes` get a 431 in the caller's error format (Anthropic's
    /// here, from the path), not an empty 400; a malformed head gets a 400 the same way.
    @Test(.timeLimit(.minutes(1))) func oversizedOrMalformedHeadsAreAnsweredInTheCallersFormat() async throws {
        try await LiveGateway.run(yaml: Self.yaml(server: "max_request_header_bytes: 4096")) { live in
            let large = try RawConnection(baseURL: live.baseURL)
            large.send(
                "POST /v1/messages HTTP/1.1\r\nHost: gateway\r\nX-Padding: \(String(repeating: "a", count: 8192))\r\n\r\n"
            )
            let tooLarge = String(decoding: await large.readToEnd().bytes, as: UTF8.self)
            #expect(tooLarge.hasPrefix("HTTP/1.1 431"))
            #expect(tooLarge.contains(#""type":"error""#) && tooLarge.contains("request_too_large"))
            #expect(tooLarge.contains("4096"))

            let gemini = try RawConnection(baseURL: live.baseURL)
            gemini.send("POST /v1beta/models/m:generateContent HTTP/1.1\r\nHost: gateway\r\nBad Header\r\n\r\n")
            let malformed = String(decoding: await gemini.readToEnd().bytes, as: UTF8.self)
            #expect(malformed.hasPrefix("HTTP/1.1 400"))
            #expect(malformed.contains("INVALID_ARGUMENT"))

            // Within the limit, the same connection kind is served.
            let fine = try RawConnection(baseURL: live.baseURL)
            fine.send(
                "GET /health HTTP/1.1\r\nHost: gateway\r\nX-Padding: \(String(repeating: "a", count: 1024))\r\n\r\n")
            guard case .data(let bytes) = await fine.read() else {
                Issue.record("a head within the limit was not answered")
                return
            }
            #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        }
    }
}
