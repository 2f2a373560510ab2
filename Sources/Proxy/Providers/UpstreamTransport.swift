import AsyncHTTPClient
import Embedding
import NIOCore

/// The remote embedder's HTTP transport, on the gateway's shared upstream client.
struct UpstreamTransport: HTTPTransport {
    let client: UpstreamClient

    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> (
        status: Int, body: [UInt8]
    ) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let response = try await client.send(request, deadline: .now() + .nanoseconds(Int64(seconds * 1e9)))
        let answer = try await response.body.collect(upTo: client.maxResponseBytes)
        return (Int(response.status.code), Array(answer.readableBytesView))
    }
}
