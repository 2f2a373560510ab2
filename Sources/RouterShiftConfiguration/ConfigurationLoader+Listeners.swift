import Yams

/// The sections of `server` and `providers[]` about listeners and certificates: `server.tls`,
/// `server.admin` and `providers[].tls`.
extension ConfigurationLoader {
    static func readTLS(_ node: Node?, path: String, reader: YAMLReader) -> GatewayConfiguration.TLSFiles? {
        guard let node else { return nil }
        let fields = reader.mapping(node, path: path, allowed: ["certificate", "key"])
        guard let certificate = reader.requiredString(fields["certificate"], path: "\(path).certificate", parent: node),
            let key = reader.requiredString(fields["key"], path: "\(path).key", parent: node)
        else { return nil }
        return GatewayConfiguration.TLSFiles(certificate: certificate, key: key)
    }

    static func readAdminListener(_ node: Node?, server: GatewayConfiguration.Server, reader: YAMLReader)
        -> GatewayConfiguration.AdminListener?
    {
        guard let node else { return nil }
        let fields = reader.mapping(node, path: "server.admin", allowed: ["host", "port"])
        guard let port = reader.int(fields["port"], path: "server.admin.port", range: 0...65535) else {
            if fields["port"] == nil { reader.problem("server.admin.port", node, "is required") }
            return nil
        }
        let host = reader.string(fields["host"], path: "server.admin.host") ?? "127.0.0.1"
        if port != 0, port == server.port, host == server.host {
            reader.problem("server.admin", node, "must listen on another address than the server (\(host):\(port))")
        }
        return GatewayConfiguration.AdminListener(host: host, port: port)
    }

    static func readUpstreamTLS(_ node: Node?, path: String, baseURL: String, reader: YAMLReader)
        -> GatewayConfiguration.UpstreamTLS
    {
        var tls = GatewayConfiguration.UpstreamTLS()
        guard let node else { return tls }
        let fields = reader.mapping(node, path: path, allowed: ["ca_file", "insecure_skip_verify"])
        tls.caFile = reader.string(fields["ca_file"], path: "\(path).ca_file")
        tls.insecureSkipVerify =
            reader.bool(fields["insecure_skip_verify"], path: "\(path).insecure_skip_verify") ?? false
        if tls.insecureSkipVerify && tls.caFile != nil {
            reader.problem(path, node, "give ca_file or insecure_skip_verify, not both")
        }
        if !baseURL.lowercased().hasPrefix("https://") {
            reader.problem(path, node, "applies to https base URLs only")
        }
        return tls
    }
}
