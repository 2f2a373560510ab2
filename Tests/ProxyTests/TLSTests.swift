import AsyncHTTPClient
import Foundation
import NIOSSL
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// HTTPS on the server's port with certificates made by openssl at test time, their reload, and upstream
/// TLS: verification on by default, a private CA by `ca_file`, and the explicit `insecure_skip_verify`.
@Suite(.serialized) struct TLSTests {
    static let models = """
        models: [ { name: chat, cache: false, deployments: [ { provider: mock, model: mock-small } ] } ]
        cache: { enabled: false }
        """

    /// A CA and a server certificate it signed, in a fresh folder.
    static func certificates() throws -> (authority: TestCertificates, certificate: String, key: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        let authority = try TestCertificates.authority(in: directory)
        let certificate = directory.appendingPathComponent("server.pem").path
        let key = directory.appendingPathComponent("server.key").path
        try authority.issueServerCertificate(certificate: certificate, key: key)
        return (authority, certificate, key)
    }

    static func makeClient(trusting caFile: String?) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.trustRoots = .file(caFile) }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(1), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The status of GET `url` on a new connection, or the error that prevented it.
    static func status(_ url: String, trusting caFile: String?) async -> Result<Int, any Error> {
        let client = makeClient(trusting: caFile)
        defer { _ = client.shutdown() }
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            return .success(Int(response.status.code))
        } catch {
            return .failure(error)
        }
    }

    @Test func servesHTTPSWithTheConfiguredCertificate() async throws {
        let (authority, certificate, key) = try Self.certificates()
        let yaml = """
            server: { tls: { certificate: \(certificate), key: \(key) } }
            providers: [ { name: mock, kind: openai, base_url: "MOCK/v1" } ]
            \(Self.models)
            """
        try await LiveGateway.run(yaml: yaml, trusting: authority.caCertificate) { live in
            #expect(live.baseURL.hasPrefix("https://"))
            let chat = try await live.post(
                "/v1/chat/completions", ["model": "chat", "messages": [["role": "user", "content": "over TLS"]]])
            #expect(chat.status == 200)
            #expect(chat.body["choices"]?.array?[0]["message"]?["content"] == "Mock answer to: over TLS")
            // A client that does not trust the test CA refuses the certificate.
            guard case .failure = await Self.status(live.baseURL + "/health", trusting: nil) else {
                Issue.record("a client without the test CA accepted the certificate")
                return
            }
            // Plain HTTP on the TLS port gets no answer.
            let plain = live.baseURL.replacingOccurrences(of: "https://", with: "http://")
            guard case .failure = await Self.status(plain + "/health", trusting: nil) else {
                Issue.record("plain HTTP was answered on the TLS port")
                return
            }
        }
    }

    @Test func aReloadServesTheNewCertificateToNewConnectionsAndABadOneKeepsTheOld() async throws {
        let (first, certificate, key) = try Self.certificates()
        let yaml = """
            server: { tls: { certificate: \(certificate), key: \(key) } }
            providers: [ { name: mock, kind: openai, base_url: "MOCK/v1" } ]
            \(Self.models)
            """
        try await LiveGateway.run(yaml: yaml, trusting: first.caCertificate) { live in
            let serving = try #require(live.gateway.certificate)
            let url = live.baseURL + "/health"
            let before = serving.serialNumber
            // A second CA: a client that trusts only one of them tells which certificate is served.
            let second = try TestCertificates.authority(
                named: "Second Test CA", in: first.directory.appendingPathComponent("second"))
            try second.issueServerCertificate(certificate: certificate, key: key)
            #expect(try await Self.status(url, trusting: first.caCertificate).get() == 200)
            #expect((try? await Self.status(url, trusting: second.caCertificate).get()) == nil)

            try serving.reload()
            #expect(serving.serialNumber != before)
            #expect(try await Self.status(url, trusting: second.caCertificate).get() == 200)
            #expect((try? await Self.status(url, trusting: first.caCertificate).get()) == nil)

            // A key that is not the certificate's, then one that is not a key: refused, the pair stays.
            let other = first.directory.appendingPathComponent("other")
            try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
            try second.issueServerCertificate(
                certificate: other.appendingPathComponent("cert.pem").path,
                key: other.appendingPathComponent("key.pem").path)
            let goodKey = try String(contentsOfFile: key, encoding: .utf8)
            try FileManager.default.removeItem(atPath: key)
            try FileManager.default.copyItem(atPath: other.appendingPathComponent("key.pem").path, toPath: key)
            let mismatch = try #require(throws: GatewayError.self) { try serving.reload() }
            #expect(mismatch.message.contains("does not match"))
            try "not a key".write(toFile: key, atomically: true, encoding: .utf8)
            let unreadable = try #require(throws: GatewayError.self) { try serving.reload() }
            #expect(unreadable.message.contains("server.tls.key"))
            #expect(try await Self.status(url, trusting: second.caCertificate).get() == 200)
            try goodKey.write(toFile: key, atomically: true, encoding: .utf8)
        }
    }

    /// Gateway B in front of gateway A over HTTPS, with B's provider TLS set as `tls` says.
    static func chatThroughHTTPSUpstream(tls: String?) async throws -> (status: Int, text: String) {
        let (authority, certificate, key) = try Self.certificates()
        let upstream = """
            server: { tls: { certificate: \(certificate), key: \(key) } }
            providers: [ { name: mock, kind: openai, base_url: "MOCK/v1" } ]
            \(Self.models)
            """
        return try await LiveGateway.run(yaml: upstream, trusting: authority.caCertificate) { a in
            let tlsField =
                tls.map { ", tls: " + $0.replacingOccurrences(of: "CA_FILE", with: authority.caCertificate) } ?? ""
            let front = """
                providers: [ { name: a, kind: openai, base_url: "\(a.baseURL)/v1", api_key: \(LiveGateway.masterKey)\(tlsField) } ]
                models: [ { name: chat, cache: false, deployments: [ { provider: a, model: chat } ] } ]
                routing: { retries: 0 }
                cache: { enabled: false }
                """
            return try await LiveGateway.run(yaml: front) { b in
                let answer = try await b.post(
                    "/v1/chat/completions", ["model": "chat", "messages": [["role": "user", "content": "via A"]]])
                return (answer.status, answer.text)
            }
        }
    }

    @Test func anUpstreamCertificateIsVerifiedByDefault() async throws {
        let answer = try await Self.chatThroughHTTPSUpstream(tls: nil)
        #expect(answer.status >= 500, "\(answer.text)")
    }

    @Test func aPrivateCAIsTrustedThroughCAFile() async throws {
        let answer = try await Self.chatThroughHTTPSUpstream(tls: "{ ca_file: CA_FILE }")
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.text.contains("Mock answer to: via A"))
    }

    @Test func insecureSkipVerifyAcceptsAnyCertificate() async throws {
        let answer = try await Self.chatThroughHTTPSUpstream(tls: "{ insecure_skip_verify: true }")
        #expect(answer.status == 200, "\(answer.text)")
    }

    @Test func upstreamTLSSettingsAreChecked() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(
                """
                providers:
                  - { name: a, kind: openai, base_url: "http://x/v1", tls: { ca_file: ca.pem } }
                  - { name: b, kind: openai, base_url: "https://x/v1", tls: { ca_file: ca.pem, insecure_skip_verify: true } }
                  - { name: c, kind: openai, base_url: "https://x/v1", tls: { verify: false } }
                server: { tls: { certificate: cert.pem } }
                """)
        }
        #expect(
            error.problems.map(\.path) == [
                "server.tls.key", "providers[0].tls", "providers[1].tls", "providers[2].tls.verify",
            ])
    }

    @Test func aMissingCertificateFileStopsTheGatewayWithItsName() async throws {
        var configuration = GatewayConfiguration()
        configuration.databasePath =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "tls-\(UUID().uuidString).sqlite"
            ).path
        configuration.server.tls = .init(certificate: "/nonexistent/cert.pem", key: "/nonexistent/key.pem")
        let error = try await #require(throws: GatewayError.self) {
            _ = try await Gateway(configuration: configuration, logger: .init(label: "test"))
        }
        #expect(error.message.contains("/nonexistent/cert.pem"))
    }
}
