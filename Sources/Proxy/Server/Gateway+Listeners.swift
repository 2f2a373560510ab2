import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import RouterShiftConfiguration
import ServiceLifecycle

/// The listeners beside the plain HTTP one: HTTPS on the server's port (`server.tls`), the admin
/// listener (`server.admin`), and the TLS settings of upstream connections (`providers[].tls`).
extension Gateway {
    /// HTTP/1.1, over TLS when a certificate is configured, each connection behind a ``ConnectionGuard``
    /// enforcing `limits` (one count of open connections for the whole listener).
    static func serverBuilder(certificate: ServingCertificate?, limits: ConnectionGuard.Limits) throws
        -> HTTPServerBuilder
    {
        let headerBytes = limits.maxRequestHeaderBytes
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [ConnectionGuard(limits: limits)],
                httpDecoderConfiguration: .init(maxHeaderFieldSize: headerBytes, maxHeaderListSize: headerBytes)))
        guard let certificate else { return http1 }
        return try .tls(http1, tlsConfiguration: certificate.serverConfiguration())
    }

    /// The routes the admin listener serves: `/admin`, `/metrics` and `/ui`, and `/health` for its own probes.
    public func makeAdminRouter() -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthenticationMiddleware(masterKey: configuration.server.masterKey, keys: keys))
        HealthRoutes(gateway: self).register(on: router)
        registerAdministration(on: router)
        return router
    }

    /// `/metrics`, `/ui` and the admin API: on the public listener unless `server.admin` gives them their own.
    func registerAdministration(on router: Router<GatewayContext>) {
        MetricsRoutes(gateway: self).register(on: router)
        AnalyticsRoutes(gateway: self).register(on: router)
        AdminRoutes(gateway: self).register(on: router)
        CacheAdminRoutes(gateway: self).register(on: router)
        CacheFeedbackRoutes(gateway: self).registerReview(on: router)
    }

    /// The admin listener's application (plain HTTP, meant for a private address), when `server.admin` is set.
    public func makeAdminApplication(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> (any ApplicationProtocol)?
    {
        guard let admin = configuration.server.admin else { return nil }
        return Application(
            router: makeAdminRouter(),
            configuration: .init(address: .hostname(admin.host, port: admin.port), serverName: "RouterShift"),
            onServerRunning: onServerRunning, logger: logger)
    }

    /// The TLS configuration of each provider whose `tls` differs from the default (verification against
    /// the system's roots), keyed by its base URL's origin.
    ///
    /// - Throws: ``GatewayError`` when a `ca_file` holds no readable PEM certificate.
    static func upstreamTLS(_ providers: [GatewayConfiguration.Provider], logger: Logger) throws
        -> [String: TLSConfiguration]
    {
        var configurations: [String: TLSConfiguration] = [:]
        for provider in providers {
            guard let origin = UpstreamClient.origin(of: provider.baseURL),
                provider.tls.insecureSkipVerify || provider.tls.caFile != nil
            else { continue }
            var tls = TLSConfiguration.makeClientConfiguration()
            if provider.tls.insecureSkipVerify {
                tls.certificateVerification = .none
                logger.warning(
                    "upstream TLS certificate verification is OFF (insecure_skip_verify): for tests only",
                    metadata: ["provider": "\(provider.name)", "base_url": "\(provider.baseURL)"])
            } else if let file = provider.tls.caFile {
                let roots: [NIOSSLCertificate]
                do {
                    roots = try NIOSSLCertificate.fromPEMFile(file)
                } catch {
                    throw GatewayError(
                        .internalError,
                        "providers[\(provider.name)].tls.ca_file \(file) is not a readable PEM file: \(error)")
                }
                guard !roots.isEmpty else {
                    throw GatewayError(
                        .internalError, "providers[\(provider.name)].tls.ca_file \(file) holds no certificate")
                }
                tls.trustRoots = .certificates(roots)
            }
            configurations[origin] = tls
        }
        return configurations
    }
}
