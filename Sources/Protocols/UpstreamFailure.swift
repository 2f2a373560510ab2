import Canonical

/// How a call to an upstream failed: what the routing core decides retries, breakers and the client's
/// error from.
public enum UpstreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection could be made, or it broke before an answer.
    case connection(String)
    /// No answer within the deadline.
    case timeout
    /// The upstream answered with an error status; `message` is its error text, scrubbed of credentials.
    case status(Int, message: String, retryAfter: Double?)
    /// The upstream answered 2xx with something that is not what the protocol promises.
    case malformed(String)
    /// The request cannot be sent to this deployment at all (a feature its protocol cannot express), with
    /// the parameter at fault when there is one.
    case unsupported(String, param: String? = nil)
    /// The client went away.
    case cancelled

    /// Connection errors, timeouts, 429 and 5xx are worth another deployment; other 4xx would fail the
    /// same way anywhere.
    public var isRetryable: Bool {
        switch self {
        case .connection, .timeout, .malformed: true
        case .status(let status, _, _): status == 429 || status == 408 || status >= 500
        case .unsupported, .cancelled: false
        }
    }

    /// The failure's class as metrics label it: `connection`, `timeout`, `status_429`, `status_5xx`,
    /// `status_4xx`, `malformed`, `unsupported` or `cancelled`.
    package var metricKind: String {
        switch self {
        case .connection: "connection"
        case .timeout: "timeout"
        case .status(let status, _, _): status == 429 ? "status_429" : "status_\(status / 100)xx"
        case .malformed: "malformed"
        case .unsupported: "unsupported"
        case .cancelled: "cancelled"
        }
    }

    public var description: String {
        switch self {
        case .connection(let reason): "connection failed: \(reason)"
        case .timeout: "timed out"
        case .status(let status, let message, _): "answered \(status): \(message)"
        case .malformed(let reason): "malformed answer: \(reason)"
        case .unsupported(let reason, _): reason
        case .cancelled: "cancelled"
        }
    }

    /// What the client hears when this was the last failure; an upstream 429 always carries a Retry-After
    /// (1 s when the upstream gave none).
    package var gatewayError: GatewayError {
        switch self {
        case .connection(let reason):
            GatewayError(
                .upstreamFailed, "The upstream provider could not be reached: \(reason).", code: "upstream_unreachable")
        case .timeout:
            GatewayError(.upstreamTimeout, "The upstream provider did not answer in time.", code: "upstream_timeout")
        case .status(let status, let message, let retryAfter):
            if status == 429 {
                GatewayError(
                    .rateLimited, "The upstream provider is rate limiting: \(message)", code: "upstream_rate_limited",
                    retryAfter: Int(min(max(retryAfter ?? 1, 1), 86400).rounded(.up)))
            } else if status == 401 || status == 403 {
                GatewayError(
                    .upstreamFailed, "The upstream provider rejected the gateway's credentials (\(status)).",
                    code: "upstream_auth")
            } else if status >= 500 {
                GatewayError(
                    .upstreamFailed, "The upstream provider failed (\(status)): \(message)", code: "upstream_error")
            } else {
                GatewayError(.upstreamRejected, message, code: "upstream_rejected", upstreamStatus: status)
            }
        case .malformed(let reason):
            GatewayError(
                .upstreamFailed, "The upstream provider answered malformed data: \(reason)", code: "upstream_malformed")
        case .unsupported(let reason, let param): GatewayError.invalid(reason, param: param)
        case .cancelled: GatewayError(.invalidRequest, "The request was cancelled.", code: "cancelled")
        }
    }
}
