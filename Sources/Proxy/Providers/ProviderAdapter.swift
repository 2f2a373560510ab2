import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RouterShiftConfiguration

/// A request the gateway forwards without modelling it (embeddings, images, audio, rerank, ...), with
/// the model field set to the deployment's.
struct ForwardedCall: Sendable {
    enum Body: Sendable {
        /// A JSON body whose "model" field the adapter rewrites.
        case json(JSONValue)
        /// Bytes passed as they are.
        case bytes(ByteBuffer, contentType: String)
        /// A body streamed through as it arrives, read once.
        case stream(PrefixedBody, contentType: String)
    }

    /// Relative to the provider's base URL, like `/embeddings`.
    var path: String
    var body: Body
}

/// An upstream's answer to a forwarded call, its body unread.
struct ForwardedResponse: Sendable {
    var status: Int
    var contentType: String?
    var body: HTTPClientResponse.Body
}

/// Speaks one upstream protocol: encodes canonical requests for it, sends them with the shared client, and
/// decodes the answers back to canonical form.
protocol ProviderAdapter: Sendable {
    var name: String { get }
    var kind: GatewayConfiguration.ProviderKind { get }

    /// A complete chat response from `model` at this provider.
    func complete(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatResponse

    /// A chat stream from `model`; returns once the upstream accepted the request (2xx head received).
    func stream(_ request: ChatRequest, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ChatChunkSource

    /// A non-chat call passed through; returns once the upstream answered 2xx.
    func forward(_ call: ForwardedCall, model: String, deadline: NIODeadline) async throws(UpstreamFailure)
        -> ForwardedResponse
}

extension ProviderAdapter {
    /// Builds the HTTP request for an upstream call.
    func httpRequest(url: String, headers: [(String, String)], body: HTTPClientRequest.Body?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = body
        return request
    }

    /// Sends a request and fails on a non-2xx answer, with the upstream's message scrubbed of `secrets`.
    func sendChecked(_ request: HTTPClientRequest, client: UpstreamClient, deadline: NIODeadline, secrets: [String])
        async throws(UpstreamFailure) -> HTTPClientResponse
    {
        let response = try await client.send(request, deadline: deadline)
        guard (200..<300).contains(response.status.code) else {
            throw await UpstreamClient.failure(from: response, secrets: secrets)
        }
        return response
    }

    /// Reads a whole 2xx JSON answer.
    func readJSON(_ response: HTTPClientResponse, limit: Int) async throws(UpstreamFailure)
        -> JSONValue
    {
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: limit)
        } catch {
            throw UpstreamClient.failure(error)
        }
        guard let json = try? JSONValue.parseRepairingUTF8(buffer.readableBytesView) else {
            throw .malformed("the answer is not JSON: \(String(buffer: buffer).prefix(200))")
        }
        return json
    }
}
