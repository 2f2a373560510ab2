import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Calls a running gateway's admin API, so the CLI changes the cache through the process that owns it
/// rather than under its feet.
public struct AdminClient: Sendable {
    public let baseURL: String
    let masterKey: String

    public init(host: String, port: Int, masterKey: String) {
        let address = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        baseURL = "http://\(address):\(port)"
        self.masterKey = masterKey
    }

    /// Whether a gateway answers `/health` at the address.
    public func isReachable() async -> Bool {
        (try? await send("/health", method: .GET, body: nil, timeout: .seconds(1)).status) == 200
    }

    /// Sends a request with the master key and returns the status and body; a non-2xx status throws with the
    /// gateway's error message.
    public func send(_ path: String, method: HTTPMethod, body: [UInt8]?, timeout: TimeAmount = .minutes(30))
        async throws
        -> (status: Int, body: String)
    {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = client.shutdown() }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(masterKey)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: timeout)
        let text = String(buffer: try await response.body.collect(upTo: 1 << 30))
        guard (200..<300).contains(response.status.code) else {
            let message = (try? JSONValue.parse(Array(text.utf8)))?["error"]?["message"]?.string ?? text
            throw GatewayError(.internalError, "the gateway answered \(response.status.code): \(message)")
        }
        return (Int(response.status.code), text)
    }
}
