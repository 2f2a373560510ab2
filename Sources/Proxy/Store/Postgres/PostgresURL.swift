import Foundation

/// Where a PostgreSQL database is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE]`, as libpq
/// and every PostgreSQL tool write it (`postgresql://` too). User and password may be percent-encoded.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// libpq's `sslmode`, of which these three are understood: `disable` (plain), `prefer` (TLS when the server
    /// offers it, the default) and `require` (TLS or no connection).
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, prefer, require
    }

    /// - Throws: ``GatewayError`` naming what is wrong with `text`; the password is never repeated.
    public init(_ text: String) throws(GatewayError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw Self.invalid("it must look like postgres://USER[:PASSWORD]@HOST:PORT/DATABASE")
        }
        guard let host = components.host, !host.isEmpty else { throw Self.invalid("it names no host") }
        guard let username = components.percentEncodedUser?.removingPercentEncoding, !username.isEmpty else {
            throw Self.invalid("it names no user")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw Self.invalid("it names no database") }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw Self.invalid("`\(item.name)` is not understood; only sslmode is")
            }
            guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                throw Self.invalid(
                    "sslmode must be \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")), not `\(item.value ?? "")`"
                )
            }
            tls = mode
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username
        self.password = components.percentEncodedPassword?.removingPercentEncoding
        self.database = database
        self.tls = tls
    }

    /// The URL without its password, for logs.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }

    private static func invalid(_ reason: String) -> GatewayError {
        GatewayError(.invalidRequest, "The PostgreSQL URL is not valid: \(reason).", code: "invalid_database_url")
    }
}
