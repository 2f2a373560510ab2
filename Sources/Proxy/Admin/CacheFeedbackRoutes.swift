import Foundation
import Hummingbird

/// Feedback on semantic hits and the labels it makes: `POST /v1/cache/feedback` for the key that made the
/// request (or the master key), and the master key's review of the labels under `/admin/cache/labels`.
struct CacheFeedbackRoutes {
    let gateway: Gateway

    /// `POST /v1/cache/feedback`, on the public listener.
    func registerFeedback(on router: Router<GatewayContext>) {
        router.post("v1/cache/feedback") { request, context in try await feedback(request, context) }
    }

    /// The label review, with the rest of the admin API.
    func registerReview(on router: Router<GatewayContext>) {
        router.get("admin/cache/hits") { request, _ in try hits(request) }
        let labels = router.group("admin/cache/labels")
        labels.get { request, _ in try list(request) }
        labels.post(":id/approve") { _, context in try approve(context) }
        labels.delete(":id") { _, context in try delete(context) }
    }

    private func cache() throws -> SemanticCache {
        guard let cache = gateway.cache, cache.embedder != nil else {
            throw GatewayError(
                .notFound, "The semantic cache is off in this gateway's configuration.", code: "cache_disabled")
        }
        return cache
    }

    private func feedback(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let fields = try JSONFields(try await request.decodeJSONBody(limit: 64 * 1024))
        let requestID = try fields.requiredString("request_id")
        guard let correct = try fields.bool("correct") else {
            throw GatewayError.invalid("`correct` is required: true or false.", param: "correct")
        }
        guard let principal = context.principal else {
            throw GatewayError(.authentication, "An API key is required.", code: "missing_api_key")
        }
        let outcome = try cache().feedback(requestID: requestID, correct: correct, from: principal)
        return jsonResponse([
            "request_id": .string(requestID), "correct": .bool(correct), "withdrawn": .bool(outcome.withdrawn),
            "label_id": .integer(outcome.label.id ?? 0), "status": .string(outcome.label.status),
        ])
    }

    /// `GET /admin/cache/hits?limit=N`: the latest semantic hits, the request's prompt beside the cached one.
    private func hits(_ request: Request) throws -> Response {
        let hits = try cache().recentHits(limit: try Self.limit(request, default: 20))
        return jsonResponse([
            "object": "list",
            "data": .array(
                hits.map { hit, matched in
                    var json = Self.json(hit).object ?? [:]
                    json["matched_prompt"] = matched.map(JSONValue.string) ?? .null
                    return .object(json)
                }),
        ])
    }

    private func list(_ request: Request) throws -> Response {
        let status = request.uri.queryParameters.get("status")
        if let status, !["pending", "approved"].contains(status) {
            throw GatewayError.invalid("`status` must be pending or approved.", param: "status")
        }
        let labels = try cache().labels(status: status, limit: try Self.limit(request, default: 100))
        return jsonResponse(["object": "list", "data": .array(labels.map { Self.json($0) })])
    }

    private func approve(_ context: GatewayContext) throws -> Response {
        guard let label = try cache().approveLabel(try Self.id(context)) else { throw Self.noLabel(context) }
        return jsonResponse(Self.json(label))
    }

    private func delete(_ context: GatewayContext) throws -> Response {
        guard try cache().deleteLabel(try Self.id(context)) else { throw Self.noLabel(context) }
        return jsonResponse(["id": .integer(try Self.id(context)), "deleted": true])
    }

    /// `?limit=N`, 1 to 1000; a value that is not such a number is refused.
    private static func limit(_ request: Request, default value: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return value }
        guard let limit = Int(text), (1...1000).contains(limit) else {
            throw GatewayError.invalid("`limit` must be a whole number from 1 to 1000.", param: "limit")
        }
        return limit
    }

    private static func id(_ context: GatewayContext) throws -> Int64 {
        guard let id = context.parameters.get("id").flatMap(Int64.init) else {
            throw GatewayError.invalid("A label id is a number.", param: "id")
        }
        return id
    }

    private static func noLabel(_ context: GatewayContext) -> GatewayError {
        GatewayError(.notFound, "No label `\(context.parameters.get("id") ?? "")`.", code: "label_not_found")
    }

    static func json(_ value: some Encodable) -> JSONValue {
        (try? JSONEncoder().encode(value)).flatMap { try? JSONValue.parse($0) } ?? .null
    }
}
