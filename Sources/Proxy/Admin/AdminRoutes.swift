import Foundation
import Hummingbird
import RouterShiftConfiguration

/// The admin API, master key only: virtual keys and routing state.
struct AdminRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        let admin = router.group("admin")
        admin.post("keys") { request, _ in try await createKey(request) }
        admin.get("keys") { request, _ in try listKeys(request) }
        admin.delete("keys/:id") { _, context in try revokeKey(context) }
        admin.post("keys/:id/revoke") { _, context in try revokeKey(context) }
        admin.get("routing") { _, _ in routingState() }
        admin.post("config/reload") { _, _ in try reloadConfiguration() }
    }

    /// Reads the configuration file again and puts its live settings in force; a file with problems is
    /// refused with all of them, and the configuration in force stays.
    private func reloadConfiguration() throws -> Response {
        let report: ReloadReport
        do {
            report = try gateway.reloadFromSource()
        } catch let error as ConfigurationError {
            let problems = error.problems.map { problem -> JSONValue in
                var json: [String: JSONValue] = ["path": .string(problem.path), "message": .string(problem.message)]
                json["line"] = problem.line.map { .integer(Int64($0)) } ?? .null
                json["column"] = problem.column.map { .integer(Int64($0)) } ?? .null
                return .object(json)
            }
            let message =
                "\(error.file) has \(problems.count) problem\(problems.count == 1 ? "" : "s"); the configuration in force stays."
            return jsonResponse(
                [
                    "error": [
                        "message": .string(message), "type": "invalid_request_error", "code": "invalid_configuration",
                        "problems": .array(problems),
                    ]
                ], status: .badRequest)
        }
        return jsonResponse([
            "reloaded": true, "changed": .array(report.changed.map(JSONValue.string)),
            "restart_required": .array(report.restartRequired.map(JSONValue.string)),
        ])
    }

    private func createKey(_ request: Request) async throws -> Response {
        let fields = try JSONFields(try await request.decodeJSONBody(limit: 64 * 1024))
        var models: [String]?
        if let values = try fields.array("models") {
            models = try values.enumerated().map { index, value throws(GatewayError) in
                guard let name = value.string else {
                    throw GatewayError.invalid("`models[\(index)]` must be a string.", param: "models")
                }
                return name
            }
        }
        let draft = KeyDraft(
            name: try fields.requiredString("name"), team: try fields.string("team"), models: models,
            rpm: try fields.int("rpm"), tpm: try fields.int("tpm"), maxParallel: try fields.int("max_parallel"),
            budget: try fields.number("budget"), budgetPeriod: try fields.string("budget_period"),
            cacheAudit: try fields.bool("cache_audit"))
        try draft.validate(against: gateway.configuration)
        let (key, secret) = try gateway.store.createKey(draft, now: gateway.clock.wallTime())
        var json = Self.json(key)
        json["key"] = .string(secret)
        return jsonResponse(.object(json), status: .created)
    }

    private func listKeys(_ request: Request) throws -> Response {
        let includeRevoked = request.uri.queryParameters.get("include_revoked") == "true"
        let keys = try gateway.store.keys(includeRevoked: includeRevoked)
        return jsonResponse(["object": "list", "data": .array(keys.map { .object(json(withSpend: $0)) })])
    }

    private func revokeKey(_ context: GatewayContext) throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let key = try gateway.store.revokeKey(id, now: gateway.clock.wallTime()) else {
            throw GatewayError(.notFound, "No key with id or prefix `\(id)`.", code: "key_not_found")
        }
        return jsonResponse(.object(Self.json(key)))
    }

    private func routingState() -> Response {
        let snapshot = gateway.routing.snapshot()
        let data = (try? JSONEncoder().encode(snapshot)).flatMap { try? JSONValue.parse($0) } ?? .array([])
        return jsonResponse(["object": "list", "data": data])
    }

    /// A key with what it has spent in its budget period (`total` when it has no budget).
    private func json(withSpend key: VirtualKey) -> [String: JSONValue] {
        var json = Self.json(key)
        let period = key.budgetPeriod.flatMap(BudgetPeriod.init(rawValue:)) ?? .total
        json["spend"] = .number(gateway.admission.spend.spent(keyID: key.id, period: period))
        return json
    }

    /// A key as the API shows it: never its secret or hash.
    static func json(_ key: VirtualKey) -> [String: JSONValue] {
        var json: [String: JSONValue] = [
            "id": .string(key.id), "name": .string(key.name), "prefix": .string(key.prefix),
            "created_at": .number(key.createdAt), "revoked": .bool(key.isRevoked),
        ]
        json["team"] = key.team.map(JSONValue.string) ?? .null
        json["models"] = key.models.map { .array($0.map(JSONValue.string)) } ?? .null
        json["rpm"] = key.rpm.map { .integer(Int64($0)) } ?? .null
        json["tpm"] = key.tpm.map { .integer(Int64($0)) } ?? .null
        json["max_parallel"] = key.maxParallel.map { .integer(Int64($0)) } ?? .null
        json["budget"] = key.budget.map(JSONValue.number) ?? .null
        json["budget_period"] = key.budgetPeriod.map(JSONValue.string) ?? .null
        json["cache_audit"] = .bool(key.cacheAudit ?? true)
        json["revoked_at"] = key.revokedAt.map(JSONValue.number) ?? .null
        return json
    }
}
