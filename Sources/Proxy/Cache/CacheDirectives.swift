import Foundation
import HTTPTypes

/// What a request asks of the cache, from `x-routershift-cache*` and `Cache-Control` headers.
struct CacheDirectives: Sendable, Equatable {
    enum Mode: String, Sendable {
        /// Look up, and store a miss.
        case normal
        /// Neither look up nor store (`x-routershift-cache: off`).
        case off
        /// Look up, but do not store (`no-store`).
        case noStore
        /// Do not look up; fetch anew and store (`refresh`, `Cache-Control: no-cache`).
        case refresh
    }

    var mode: Mode = .normal
    /// A similarity threshold the caller asks for; it may raise the configured one, never lower it.
    var threshold: Double?
    /// Seconds the stored entry lives.
    var ttl: Double?
    /// Whether a semantic hit of this request may be audited (`x-routershift-cache-audit: off` refuses it).
    var allowsAudit = true

    init() {}

    /// - Throws: a 400 for a header value that is not understood.
    init(headers: HTTPFields) throws(GatewayError) {
        if let value = headers[HTTPField.Name("x-routershift-cache")!]?.lowercased() {
            switch value {
            case "on", "": mode = .normal
            case "off": mode = .off
            case "no-store": mode = .noStore
            case "refresh": mode = .refresh
            default:
                throw GatewayError.invalid(
                    "`x-routershift-cache` must be on, off, no-store or refresh, not `\(value)`.")
            }
        }
        if let control = headers[.cacheControl]?.lowercased() {
            let parts = control.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.contains("no-store") && mode == .normal { mode = .noStore }
            if parts.contains("no-cache") && mode != .off { mode = .refresh }
        }
        if let value = headers[HTTPField.Name("x-routershift-cache-threshold")!] {
            guard let threshold = Double(value), (0...1).contains(threshold) else {
                throw GatewayError.invalid("`x-routershift-cache-threshold` must be a number between 0 and 1.")
            }
            self.threshold = threshold
        }
        if let value = headers[HTTPField.Name("x-routershift-cache-ttl")!] {
            guard let ttl = Double(value), ttl > 0 else {
                throw GatewayError.invalid("`x-routershift-cache-ttl` must be a positive number of seconds.")
            }
            self.ttl = ttl
        }
        if let value = headers[HTTPField.Name("x-routershift-cache-audit")!]?.lowercased() {
            guard ["on", "off"].contains(value) else {
                throw GatewayError.invalid("`x-routershift-cache-audit` must be on or off.")
            }
            allowsAudit = value == "on"
        }
    }
}
