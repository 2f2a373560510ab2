import ConnectionEvents
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The mock server's request context: keeps the connection, so a hanging request ends when its client
/// gives up.
public struct MockContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// A fake provider on a local port: speaks OpenAI (chat, completions, embeddings, moderations, models, images,
/// audio, rerank),
/// Anthropic messages, Gemini generateContent and the Midjourney and Suno task APIs, streamed or not, with
/// deterministic answers and the faults ``MockOptions`` asks for. `GET /mock/stats` counts requests per
/// path and model.
public final class MockUpstreamServer: Sendable {
    let options: MockOptions
    let counts = Mutex<[String: Int]>([:])
    /// The last chat request per path, as `GET /mock/last?path=` shows it: its body and headers.
    let lastRequests = Mutex<[String: Data]>([:])
    private let random: Mutex<UInt64>

    public init(options: MockOptions) {
        self.options = options
        random = Mutex(options.seed)
    }

    public func makeRouter() -> Router<MockContext> {
        let router = Router(context: MockContext.self)
        router.get("/v1/models") { _, _ in
            self.json([
                "object": "list",
                "data": ["mock-small", "mock-large"].map { ["id": $0, "object": "model", "owned_by": "mock"] },
            ])
        }
        router.post("/v1/chat/completions") { request, context in try await self.openAIChat(request, context: context) }
        router.post("/v1/responses") { request, context in try await self.openAIResponses(request, context: context) }
        router.post("/v1/embeddings") { request, context in try await self.embeddings(request, context: context) }
        router.post("/v1/completions") { request, context in try await self.completions(request, context: context) }
        router.post("/v1/moderations") { request, context in try await self.moderations(request, context: context) }
        router.post("/v1/messages") { request, context in try await self.anthropicMessages(request, context: context) }
        router.post("/v1/messages/count_tokens") { request, context in
            try await self.anthropicCountTokens(request, context: context)
        }
        router.post("/v1beta/models/:action") { request, context in try await self.gemini(request, context: context) }
        registerMediaRoutes(on: router)
        router.get("/mock/stats") { _, _ in self.json(["requests": self.counts.withLock { $0 }]) }
        router.get("/mock/last") { request, _ in
            let path = request.uri.queryParameters["path"].map(String.init) ?? ""
            let data = self.lastRequests.withLock { $0[path] } ?? Data("{}".utf8)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.post("/mock/reset") { _, _ in
            self.counts.withLock { $0.removeAll() }
            return self.json(["reset": true])
        }
        return router
    }

    /// Serves on `host:port` until cancelled; `onServerRunning` gets the bound port (useful with port 0).
    public func run(
        host: String, port: Int, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    )
        async throws
    {
        let application = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(host, port: port), serverName: "RouterShiftMock"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) }, logger: logger)
        try await application.runService()
    }

    // MARK: - Shared behaviour

    func roll() -> Double {
        random.withLock { state in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
    }

    func readBody(_ request: Request) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: 64 * 1024 * 1024)
        let body = (try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any]) ?? [:]
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        headers["authorization"] = nil
        headers["x-api-key"] = nil
        headers["x-goog-api-key"] = nil
        let path = request.uri.path
        let record = (try? JSONSerialization.data(withJSONObject: ["body": body, "headers": headers])) ?? Data()
        lastRequests.withLock { $0[path] = record }
        return body
    }

    /// Counts the request, applies latency, hangs and injected errors; returns the behaviour, or the error
    /// response to send.
    func prepare(
        _ request: Request, context: MockContext, model: String, path: String, errorBody: (Int) -> [String: Any]
    ) async throws
        -> (MockBehaviour, Response?)
    {
        counts.withLock { $0["\(path) \(model)", default: 0] += 1 }
        let behaviour = MockBehaviour(
            options: options, model: model, header: { request.headers[HTTPField.Name($0)!] }, roll: roll)
        if let required = options.apiKey {
            let presented =
                request.headers[.authorization].map { String($0.dropFirst(7)) }
                ?? request.headers[HTTPField.Name("x-api-key")!] ?? request.headers[HTTPField.Name("x-goog-api-key")!]
            if presented != required { return (behaviour, json(errorBody(401), status: .unauthorized)) }
        }
        if behaviour.latencyMilliseconds > 0 {
            try await Task.sleep(nanoseconds: UInt64(behaviour.latencyMilliseconds * 1e6))
        }
        if behaviour.hang {
            // Until the caller gives up and closes the connection (or an hour passes).
            let gone = context.channel.eventLoop.makePromise(of: Void.self)
            context.channel.whenClientGoesAway { gone.succeed() }
            try await gone.futureResult.get()
            throw CancellationError()
        }
        if let status = behaviour.status {
            var headers: HTTPFields = [:]
            if let retryAfter = behaviour.retryAfter { headers[.retryAfter] = retryAfter }
            return (behaviour, json(errorBody(status), status: .init(code: status), headers: headers))
        }
        return (behaviour, nil)
    }

    /// A 400 naming `param` when `value` lies outside what the mock can serve, nil when it is within: a
    /// mock asked for a million choices refuses instead of growing.
    func refuse(_ value: Int, outside range: ClosedRange<Int>, param: String) -> Response? {
        guard !range.contains(value) else { return nil }
        return json(
            [
                "error": [
                    "message": "\(param) must be between \(range.lowerBound) and \(range.upperBound)",
                    "type": "invalid_request_error", "param": param,
                ]
            ], status: .badRequest)
    }

    func json(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func sse(_ object: Any, event: String? = nil) -> ByteBuffer {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        let prefix = event.map { "event: \($0)\n" } ?? ""
        return ByteBuffer(string: prefix + "data: " + String(decoding: data, as: UTF8.self) + "\n\n")
    }

    /// A stream response whose `produce` writes events; with `disconnect`, the connection is cut after
    /// `cutAfter` events.
    func stream(behaviour: MockBehaviour, events: [ByteBuffer], cutAfter: Int = 2) -> Response {
        let delay = behaviour.chunkDelayMilliseconds
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                for (index, event) in events.enumerated() {
                    if behaviour.disconnect && index == cutAfter { throw MockDisconnect() }
                    if delay > 0 && index > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1e6)) }
                    try await writer.write(event)
                }
                try await writer.finish(nil)
            })
    }

    /// The last user text of OpenAI-style messages.
    static func lastUserText(_ messages: [[String: Any]], roleKey: String = "role", userRole: String = "user") -> String
    {
        for message in messages.reversed() where message[roleKey] as? String == userRole {
            if let text = message["content"] as? String { return text }
            if let parts = message["content"] as? [[String: Any]] {
                return parts.compactMap { $0["text"] as? String }.joined(separator: " ")
            }
        }
        return ""
    }
}

/// Thrown inside a stream to cut the connection, as a mid-stream disconnect.
struct MockDisconnect: Error {}
