import Foundation

extension GatewayConfiguration {
    /// `server.tls`: the PEM certificate chain and private key HTTPS is served with; re-read on SIGHUP.
    public struct TLSFiles: Sendable, Equatable {
        public var certificate: String
        public var key: String

        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// `server.admin`: the address of the listener for `/admin`, `/metrics` and `/ui`.
    public struct AdminListener: Sendable, Equatable {
        public var host: String
        public var port: Int

        public init(host: String = "127.0.0.1", port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// `providers[].tls`: how an HTTPS upstream's certificate is checked. Verification against the system
    /// trust store is the default; `caFile` trusts a private CA instead.
    public struct UpstreamTLS: Sendable, Equatable {
        /// PEM certificates of the CAs the provider's certificate must chain to.
        public var caFile: String?
        /// Accepts any certificate: for tests against self-signed upstreams only; logged when used.
        public var insecureSkipVerify = false

        public init(caFile: String? = nil, insecureSkipVerify: Bool = false) {
            self.caFile = caFile
            self.insecureSkipVerify = insecureSkipVerify
        }
    }

    /// The configuration with every relative file path (database, model, verifier, prices, certificates)
    /// made absolute against `folder`, the configuration file's own: a command then works from any
    /// working directory. `~` is expanded; absolute paths and SQLite's `:memory:` stay as they are.
    public func resolvingPaths(against folder: String) -> GatewayConfiguration {
        func resolve(_ path: String) -> String {
            if path == ":memory:" { return path }
            let expanded = (path as NSString).expandingTildeInPath
            if expanded.hasPrefix("/") { return expanded }
            return URL(fileURLWithPath: folder).appendingPathComponent(expanded).standardizedFileURL.path
        }
        var resolved = self
        resolved.databasePath = resolve(databasePath)
        if case .local(let directory, let threads, let precision) = cache.embedder {
            resolved.cache.embedder = .local(modelDirectory: resolve(directory), threads: threads, precision: precision)
        }
        resolved.cache.verifier.file = cache.verifier.file.map(resolve)
        resolved.pricing.file = pricing.file.map(resolve)
        resolved.server.tls = server.tls.map { TLSFiles(certificate: resolve($0.certificate), key: resolve($0.key)) }
        for index in resolved.providers.indices {
            resolved.providers[index].tls.caFile = providers[index].tls.caFile.map(resolve)
        }
        return resolved
    }
}
