import Foundation
import NIOCore
import NIOSSL
import RouterShiftConfiguration
import Synchronization

/// The certificate chain and private key HTTPS is served with (`server.tls`), re-read from their files by
/// ``reload()`` (on SIGHUP): every handshake after a reload presents the new pair, through swift-nio-ssl's
/// per-handshake context callback; connections already open keep theirs, so nothing is dropped. A reload
/// that fails (a missing file, a key that does not match) keeps the pair in force and says why.
public final class ServingCertificate: Sendable {
    public let files: GatewayConfiguration.TLSFiles
    private let current: Mutex<Pair>

    struct Pair: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    /// - Throws: ``GatewayError`` naming the file that cannot be read or parsed.
    public init(files: GatewayConfiguration.TLSFiles) throws {
        self.files = files
        current = Mutex(try Self.load(files))
    }

    /// Reads both files again and serves them from the next handshake on.
    ///
    /// - Throws: ``GatewayError`` when they cannot be used; the previous pair stays in force.
    public func reload() throws {
        let pair = try Self.load(files)
        current.withLock { $0 = pair }
    }

    /// The leaf certificate's serial number, for logs and tests that a reload took effect.
    public var serialNumber: String {
        current.withLock { pair in pair.chain.first.map { Self.hex($0.serialNumber) } ?? "" }
    }

    /// A server configuration for HTTP/1.1 whose handshakes use the current pair.
    public func serverConfiguration() -> TLSConfiguration {
        let pair = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        configuration.applicationProtocols = ["http/1.1"]
        configuration.sslContextCallback = { [self] _, promise in
            let pair = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    private static func load(_ files: GatewayConfiguration.TLSFiles) throws -> Pair {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw GatewayError(
                .internalError,
                "server.tls.certificate \(files.certificate) is not a readable PEM certificate: \(error)")
        }
        guard !chain.isEmpty else {
            throw GatewayError(.internalError, "server.tls.certificate \(files.certificate) holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw GatewayError(
                .internalError, "server.tls.key \(files.key) is not a readable PEM private key: \(error)")
        }
        // A context is where BoringSSL checks that the key belongs to the certificate.
        do {
            _ = try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        } catch {
            throw GatewayError(
                .internalError, "server.tls.key \(files.key) does not match server.tls.certificate: \(error)")
        }
        return Pair(chain: chain, key: key)
    }

    private static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
