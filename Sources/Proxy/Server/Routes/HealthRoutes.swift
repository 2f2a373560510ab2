import Embedding
import GRDB
import Hummingbird

/// `GET /health` (liveness: the process answers) and `GET /health/ready` (readiness: the database answers a
/// query, the embedding model is loaded, the cache index is open), unauthenticated, for load balancers and
/// orchestrators. Readiness answers 503 naming each failing part, so traffic goes elsewhere until it is fixed.
struct HealthRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.get("/health") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/health/ready") { _, _ in
            let readiness = gateway.readiness()
            return jsonResponse(readiness.body, status: readiness.isReady ? .ok : .serviceUnavailable)
        }
    }
}

/// The parts readiness checks and what each found.
struct Readiness {
    /// Part name and its finding: "ok", "disabled", or what is wrong.
    var checks: [(part: String, problem: String?, detail: String)]

    var isReady: Bool { checks.allSatisfy { $0.problem == nil } }

    var body: JSONValue {
        var parts: [String: JSONValue] = [:]
        for check in checks {
            parts[check.part] =
                check.problem.map { ["status": "failing", "error": .string($0)] } ?? [
                    "status": .string(check.detail)
                ]
        }
        var body: [String: JSONValue] = ["status": isReady ? "ready" : "not ready", "checks": .object(parts)]
        let failing = checks.filter { $0.problem != nil }.map { JSONValue.string($0.part) }
        if !failing.isEmpty { body["failing"] = .array(failing) }
        return .object(body)
    }
}

extension Gateway {
    /// Checks the database, the embedding model and the cache index now.
    func readiness() -> Readiness {
        var checks: [(part: String, problem: String?, detail: String)] = []
        do {
            _ = try store.readNow { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            checks.append(("database", nil, "ok"))
        } catch {
            checks.append(("database", "the database does not answer: \(error)", ""))
        }
        let semantic = configuration.cache.enabled && configuration.cache.semantic
        switch (semantic, cache?.embedder) {
        case (false, _): checks.append(("model", nil, "disabled"))
        case (true, let embedder?): checks.append(("model", nil, embedder is LocalEmbedder ? "loaded" : "remote"))
        case (true, nil): checks.append(("model", "the embedding model is not loaded", ""))
        }
        switch (semantic, cache?.index) {
        case (false, _): checks.append(("index", nil, "disabled"))
        case (true, let index?): checks.append(("index", nil, "open (\(index.count) entries)"))
        case (true, nil): checks.append(("index", "the semantic index is not open", ""))
        }
        return Readiness(checks: checks)
    }
}
