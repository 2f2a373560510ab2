import Foundation
import Hummingbird
import RouterShiftConfiguration

/// The admin API, master key only: virtual keys and routing state.
struct AdminRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        let admin = router.group("admin")
        admin.post("keys") { request, _ in try await createKey(request) }
        admin.get("keys") { request, _ in try await listKeys(request) }
        admin.patch("keys/:id") { request, context in try await updateKey(request, context) }
        admin.delete("keys/:id") { _, context in try await revokeKey(context) }
        admin.post("keys/:id/revoke") { _, context in try await revokeKey(context) }
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
        let draft = KeyDraft(
            name: try fields.requiredString("name"), team: try fields.string("team"), models: try Self.models(fields),
            rpm: try fields.int("rpm"), tpm: try fields.int("tpm"), maxParallel: try fields.int("max_parallel"),
            budget: try fields.number("budget"), budgetPeriod: try fields.string("budget_period"),
            cacheAudit: try fields.bool("cache_audit"))
        try draft.validate(against: gateway.configuration)
        let (key, secret) = try await gateway.store.createKey(draft, now: gateway.clock.wallTime())
        await refreshKeys()
        var json = Self.json(key)
        json["key"] = .string(secret)
        return jsonResponse(.object(json), status: .created)
    }

    /// `PATCH /admin/keys/{id}`: the fields sent change (`null` clears a limit, the team or the model list),
    /// the others stay; checked as a new key is. In force from the key's next request.
    private func updateKey(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let fields = try JSONFields(try await request.decodeJSONBody(limit: 64 * 1024))
        if let unknown = Set(fields.object.keys).subtracting(Self.changeableFields).sorted().first {
            throw GatewayError.invalid(
                "`\(unknown)` cannot be changed; a key's \(Self.changeableFields.sorted().joined(separator: ", ")) can.",
                param: unknown)
        }
        func sent<T>(_ field: String, _ read: (String) throws(GatewayError) -> T?) throws(GatewayError) -> T?? {
            guard let value = fields.object[field] else { return nil }
            return value.isNull ? .some(nil) : .some(try read(field))
        }
        var change = KeyChange()
        if let name = try sent("name", fields.string) {
            guard let name, !name.isEmpty else { throw GatewayError.invalid("`name` cannot be empty.", param: "name") }
            change.name = name
        }
        change.team = try sent("team", fields.string)
        change.models = try sent("models") { _ throws(GatewayError) in try Self.models(fields) }
        change.rpm = try sent("rpm") { field throws(GatewayError) in try fields.int(field) }
        change.tpm = try sent("tpm") { field throws(GatewayError) in try fields.int(field) }
        change.maxParallel = try sent("max_parallel") { field throws(GatewayError) in try fields.int(field) }
        change.budget = try sent("budget") { field throws(GatewayError) in try fields.number(field) }
        change.budgetPeriod = try sent("budget_period", fields.string)
        change.cacheAudit = try sent("cache_audit", fields.bool)
        let id = context.parameters.get("id") ?? ""
        let configuration = gateway.configuration
        guard
            let key = try await gateway.store.updateKey(
                id, change, check: { try KeyDraft(of: $0).validate(against: configuration) })
        else {
            throw GatewayError(.notFound, "No key with id or prefix `\(id)`.", code: "key_not_found")
        }
        await refreshKeys()
        return jsonResponse(.object(json(withSpend: key)))
    }

    static let changeableFields: Set<String> = [
        "name", "team", "models", "rpm", "tpm", "max_parallel", "budget", "budget_period", "cache_audit",
    ]

    /// The `models` a key may use, nil when absent or null.
    private static func models(_ fields: JSONFields) throws(GatewayError) -> [String]? {
        guard let values = try fields.array("models") else { return nil }
        return try values.enumerated().map { index, value throws(GatewayError) in
            guard let name = value.string else {
                throw GatewayError.invalid("`models[\(index)]` must be a string.", param: "models")
            }
            return name
        }
    }

    private func listKeys(_ request: Request) async throws -> Response {
        let includeRevoked = request.uri.queryParameters.get("include_revoked") == "true"
        let keys = try await gateway.store.keys(includeRevoked: includeRevoked)
        return jsonResponse(["object": "list", "data": .array(keys.map { .object(json(withSpend: $0)) })])
    }

    private func revokeKey(_ context: GatewayContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let key = try await gateway.store.revokeKey(id, now: gateway.clock.wallTime()) else {
            throw GatewayError(.notFound, "No key with id or prefix `\(id)`.", code: "key_not_found")
        }
        await refreshKeys()
        return jsonResponse(.object(Self.json(key)))
    }

    /// Puts a key change this gateway just committed in force from the key's next request. The change is
    /// durable whatever happens here: a failed refresh is logged, never answered as a failure (a created key's
    /// secret is shown only once), and the directory's own refresh applies the change within a second.
    private func refreshKeys() async {
        do {
            try await gateway.keys.refresh()
        } catch {
            gateway.logger.error("key directory refresh failed", metadata: ["error": "\(error)"])
        }
    }

    private func routingState() -> Response {
        let snapshot = gateway.routing.snapshot()
        let data = (try? JSONEncoder().encode(snapshot)).flatMap { try? JSONValue.parse($0) } ?? .array([])
        // Breakers and latency statistics are this instance's own: the answer says whose they are.
        return jsonResponse(["object": "list", "instance": .string(gateway.instance), "data": data])
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
