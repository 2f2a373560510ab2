import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// POST /v1/batch: a list of sub-requests, each sent through the gateway's own routes (and so through the
/// routing core, the key's limits, the cache and the request log) as the batch's caller, at most
/// `server.batch_concurrency` at a time. The results come back in order, each with its own status; a
/// failing item fails only itself.
///
/// The body follows the lines of an OpenAI batch input file:
/// `{"requests": [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {...}}]}`,
/// and each result the lines of its output file: `{"id", "custom_id", "response": {"status_code", "body"}}`,
/// with the gateway's `x-routershift-*` response headers (cache result, deployment) in `response.headers`.
struct BatchRoutes {
    let gateway: Gateway
    /// The endpoint routes without authentication: items run as the already authenticated caller.
    let items: RouterResponder<GatewayContext>

    /// The endpoints an item may call: every JSON endpoint that answers in one piece.
    static let batchablePaths: Set<String> = [
        "/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/images/generations", "/v1/rerank",
        "/v1/audio/speech", "/v1/midjourney/imagine", "/v1/suno/generate", "/v1/responses",
    ]

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/batch") { request, context in try await batch(request, context: context) }
    }

    struct Item: Sendable {
        let customID: String
        let url: String
        let body: JSONValue
        /// Why the item cannot run, if it cannot.
        let problem: GatewayError?
    }

    private func batch(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        let batchItems = try Self.items(of: body, limit: gateway.configuration.server.maxBatchItems)
        let limit = gateway.configuration.server.batchConcurrency
        let concurrency = min(try JSONFields(body).int("concurrency", atLeast: 1) ?? limit, limit)
        let inherited = Self.inheritedHeaders(request.headers)
        let items = self.items
        let chat = ChatRoutes(gateway: gateway)
        let (channel, logger) = (context.channel, context.logger)
        let principal = context.principal!
        let results = try await gateway.watcher.run(on: context.channel) {
            try await Self.run(batchItems, concurrency: concurrency) { item in
                var itemContext = GatewayContext(
                    source: ApplicationRequestContextSource(channel: channel, logger: logger))
                itemContext.principal = principal
                return try await Self.result(
                    of: item, headers: inherited, chat: chat, responder: items, context: itemContext)
            }
        }
        let succeeded = results.filter { ($0["response"]?["status_code"]?.integer ?? 0) < 400 }.count
        return jsonResponse([
            "object": "batch.result", "data": .array(results),
            "request_counts": [
                "total": .integer(Int64(results.count)), "completed": .integer(Int64(succeeded)),
                "failed": .integer(Int64(results.count - succeeded)),
            ],
        ])
    }

    /// The items of a batch body; a malformed list fails the whole batch, a malformed item only itself.
    private static func items(of body: JSONValue, limit: Int) throws -> [Item] {
        guard case .array(let list)? = body["requests"] else {
            throw GatewayError.invalid("`requests` must be an array of sub-requests.", param: "requests")
        }
        guard !list.isEmpty, list.count <= limit else {
            throw GatewayError.invalid("A batch holds 1 to \(limit) requests, not \(list.count).", param: "requests")
        }
        var seen = Set<String>()
        return try list.enumerated().map { index, entry in
            guard let customID = entry["custom_id"]?.string, !customID.isEmpty else {
                throw GatewayError.invalid(
                    "`requests[\(index)].custom_id` must be a non-empty string.", param: "requests")
            }
            guard seen.insert(customID).inserted else {
                throw GatewayError.invalid("`custom_id` \"\(customID)\" appears more than once.", param: "requests")
            }
            let url = entry["url"]?.string ?? ""
            let method = entry["method"]?.string ?? "POST"
            let body = entry["body"] ?? .null
            return Item(
                customID: customID, url: url, body: body, problem: problem(url: url, method: method, body: body))
        }
    }

    private static func problem(url: String, method: String, body: JSONValue) -> GatewayError? {
        guard method.uppercased() == "POST" else {
            return .invalid("Batch items are POST requests, not \(method).", param: "method")
        }
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        let isGemini =
            (path.hasPrefix("/v1/models/gemini/") && path.hasSuffix("/generateContent"))
            || (path.hasPrefix("/v1beta/models/") && path.hasSuffix(":generateContent"))
        guard batchablePaths.contains(path) || isGemini else {
            return .invalid(
                "`\(url)` cannot be batched; items call \(batchablePaths.sorted().joined(separator: ", ")) or Gemini generateContent.",
                param: "url")
        }
        guard case .object = body else { return .invalid("`body` must be a JSON object.", param: "body") }
        if body["stream"]?.bool == true {
            return .invalid("Batch items cannot stream; drop `stream`.", param: "stream")
        }
        return nil
    }

    /// The batch's headers an item keeps: the cache directives and protocol versions, not the body's.
    private static func inheritedHeaders(_ headers: HTTPFields) -> HTTPFields {
        var inherited = HTTPFields()
        for field in headers {
            let name = field.name.canonicalName
            if name.hasPrefix("x-routershift-") || name == "anthropic-version" { inherited.append(field) }
        }
        inherited[.contentType] = "application/json"
        return inherited
    }

    /// Runs `work` on every item, at most `concurrency` at once, and gives the results in the items' order.
    static func run(
        _ items: [Item], concurrency: Int, _ work: @escaping @Sendable (Item) async throws -> JSONValue
    ) async throws -> [JSONValue] {
        try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
            var results = [JSONValue](repeating: .null, count: items.count)
            var next = 0
            func start() {
                let index = next
                next += 1
                group.addTask { (index, try await work(items[index])) }
            }
            while next < min(concurrency, items.count) { start() }
            for try await (index, result) in group {
                results[index] = result
                if next < items.count { start() }
            }
            return results
        }
    }

    /// One item's result: a chat item goes straight to its codec (``ChatCodecs``) with its body as parsed,
    /// any other through the endpoint routes.
    private static func result(
        of item: Item, headers: HTTPFields, chat: ChatRoutes, responder: RouterResponder<GatewayContext>,
        context: GatewayContext
    ) async throws -> JSONValue {
        let status: Int
        let body: JSONValue
        var gatewayHeaders: [String: JSONValue] = [:]
        if let problem = item.problem {
            status = Int(problem.status.code)
            body = problem.body(for: ClientProtocol.forPath(item.url))
        } else {
            let head = HTTPRequest(method: .post, scheme: nil, authority: nil, path: item.url, headerFields: headers)
            let response: Response
            if let route = ChatCodecs.route(for: item.url) {
                let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
                response = try await ErrorMiddleware().handle(request, context: context) { _, context in
                    try await chat.serve(
                        item.body, codec: route.codec, route: route.route, parameter: { route.parameters[$0] },
                        headers: headers, context: context)
                }
            } else {
                let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: item.body.serialized())))
                response = try await responder.respond(to: request, context: context)
            }
            status = response.status.code
            for field in response.headers where field.name.canonicalName.hasPrefix("x-routershift-") {
                gatewayHeaders[field.name.canonicalName] = .string(field.value)
            }
            body = try await Self.value(of: response)
        }
        return [
            "id": .string("batch_req_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")),
            "custom_id": .string(item.customID),
            "response": ["status_code": .integer(Int64(status)), "headers": .object(gatewayHeaders), "body": body],
        ]
    }

    /// A response's body as JSON; a binary one (speech) as its content type and base64 data.
    private static func value(of response: Response) async throws -> JSONValue {
        let collector = CollectingWriter()
        try await response.body.write(collector)
        let buffer = collector.collected
        let contentType = response.headers[.contentType] ?? "application/octet-stream"
        if contentType.hasPrefix("application/json"), let value = try? JSONValue.parse(buffer.readableBytesView) {
            return value
        }
        return [
            "content_type": .string(contentType), "data": .string(Data(buffer.readableBytesView).base64EncodedString()),
        ]
    }
}

/// A response body writer that keeps what it is given.
private final class CollectingWriter: ResponseBodyWriter, Sendable {
    private let buffer = Mutex(ByteBuffer())

    var collected: ByteBuffer { buffer.withLock { $0 } }

    func write(_ chunk: ByteBuffer) async throws {
        buffer.withLock { _ = $0.writeImmutableBuffer(chunk) }
    }

    func write(contentsOf chunks: some Sequence<ByteBuffer>) async throws {
        for chunk in chunks { try await write(chunk) }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
