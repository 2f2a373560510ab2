import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The one HTTP client all upstream traffic shares: keep-alive connections pooled per host, a connect
/// timeout, a read timeout between bytes, and a deadline per call. A call is cancelled with its task, so a
/// client that goes away cancels the upstream request.
public final class UpstreamClient: Sendable {
    let http: HTTPClient
    /// TLS settings by origin (`https://host:port`) for upstreams that are not verified against the
    /// system's roots (`providers[].tls`); a configuration reload replaces them.
    private let tlsByOrigin: Mutex<[String: TLSConfiguration]>
    /// The largest answer read whole (`routing.max_response_bytes`).
    let maxResponseBytes: Int
    /// The largest line or event of an upstream stream (`routing.max_stream_event_bytes`).
    let maxStreamEventBytes: Int

    /// - Parameters:
    ///   - connectTimeout: seconds to establish a connection.
    ///   - readTimeout: the longest silence, in seconds, between bytes of an answer (a stream's gaps included).
    ///   - maxResponseBytes: the largest answer read whole; a larger one fails the call.
    ///   - maxStreamEventBytes: the largest line or event of a stream; a larger one fails the stream.
    ///   - tls: TLS settings by origin, from ``origin(of:)``.
    public init(
        connectTimeout: Double = 10, readTimeout: Double = 300, maxConnectionsPerHost: Int = 512,
        maxResponseBytes: Int = 64 << 20, maxStreamEventBytes: Int = 1 << 20, tls: [String: TLSConfiguration] = [:]
    ) {
        tlsByOrigin = Mutex(tls)
        self.maxResponseBytes = maxResponseBytes
        self.maxStreamEventBytes = maxStreamEventBytes
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .milliseconds(Int64(connectTimeout * 1000)), read: .milliseconds(Int64(readTimeout * 1000))),
            connectionPool: .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnectionsPerHost),
            decompression: .disabled)
        configuration.httpVersion = .automatic
        // A refused connection or an unknown host fails the attempt at once, so the routing core moves to
        // the next deployment instead of waiting out the connect timeout on this one.
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(
            eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Closes the client from synchronous code that is not on one of its event loops (a failed start-up).
    func shutdownNow() {
        try? http.syncShutdown()
    }

    /// Puts new per-origin TLS settings in force for connections opened from now on (a configuration reload).
    func replaceTLS(_ tls: [String: TLSConfiguration]) {
        tlsByOrigin.withLock { $0 = tls }
    }

    /// Sends `request` and returns once the response head has arrived.
    ///
    /// - Throws: ``UpstreamFailure``: `.timeout` past `deadline`, `.connection` for network errors,
    ///   `.cancelled` if the task was cancelled.
    func send(_ request: HTTPClientRequest, deadline: NIODeadline) async throws(UpstreamFailure) -> HTTPClientResponse {
        var request = request
        // The attempt's span is the upstream's parent (W3C trace context), when the request is traced.
        for (name, value) in RequestTrace.propagationHeaders() {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        if request.tlsConfiguration == nil, let origin = Self.origin(of: request.url) {
            request.tlsConfiguration = tlsByOrigin.withLock { $0[origin] }
        }
        do {
            return try await http.execute(request, deadline: deadline)
        } catch {
            throw Self.failure(error)
        }
    }

    /// `https://host:port` of a URL (the port made explicit), the key of ``tlsByOrigin``.
    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased()
        else { return nil }
        return "\(scheme)://\(host):\(components.port ?? (scheme == "https" ? 443 : 80))"
    }

    static func failure(_ error: any Error) -> UpstreamFailure {
        if let failure = error as? UpstreamFailure { return failure }
        if error is CancellationError { return .cancelled }
        if let tooLarge = error as? NIOTooManyBytesError {
            let limit = tooLarge.maxBytes.map { "\($0) bytes" } ?? "the gateway's limit"
            return .malformed("the answer exceeds \(limit) (routing.max_response_bytes)")
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: return .timeout
            case .cancelled: return .cancelled
            default: return .connection(String(describing: client))
            }
        }
        return .connection(String(describing: error))
    }

    /// Reads a non-2xx answer into a failure: its status, its error message (from the usual JSON shapes,
    /// without credentials) and any Retry-After.
    static func failure(from response: HTTPClientResponse, secrets: [String]) async -> UpstreamFailure {
        let body = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        var message = body
        if let json = try? JSONValue.parse(Array(body.utf8)) {
            message = json["error"]?["message"]?.string ?? json["error"]?.string ?? json["message"]?.string ?? body
        }
        if message.isEmpty { message = HTTPResponseStatus(statusCode: Int(response.status.code)).reasonPhrase }
        for secret in secrets where secret.count >= 4 {
            message = message.replacingOccurrences(of: secret, with: "[redacted]")
        }
        let retryAfter = response.headers.first(name: "retry-after").flatMap(Double.init).flatMap {
            $0.isFinite && $0 >= 0 ? $0 : nil
        }
        return .status(Int(response.status.code), message: String(message.prefix(2000)), retryAfter: retryAfter)
    }
}
