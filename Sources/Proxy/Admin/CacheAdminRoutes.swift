import Foundation
import Hummingbird
import NIOCore
import RouterShiftConfiguration

/// The cache's admin API, master key only: statistics, purge, export and import.
struct CacheAdminRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        let admin = router.group("admin/cache")
        admin.get("stats") { _, _ in try stats() }
        admin.get("audit") { _, _ in try audit() }
        admin.post("purge") { request, _ in try await purge(request) }
        admin.get("export") { request, _ in try export(request) }
        admin.post("import") { request, _ in try await importEntries(request) }
    }

    private func cache() throws -> SemanticCache {
        guard let cache = gateway.cache else {
            throw GatewayError(
                .notFound, "The cache is disabled in this gateway's configuration.", code: "cache_disabled")
        }
        return cache
    }

    /// What audits measured per model group, and the operating point each is at.
    private func audit() throws -> Response {
        let cache = try cache()
        guard let auditor = gateway.auditor else {
            throw GatewayError(
                .notFound, "Audits need the semantic cache, which is off in this configuration.",
                code: "cache_disabled")
        }
        var floors: [String: Double] = [:]
        for group in gateway.configuration.models {
            floors[group.name] = cache.similarityFloor(groupThreshold: group.cacheThreshold)
        }
        return jsonResponse(auditor.report(cache: cache, floors: floors))
    }

    private func stats() throws -> Response {
        let cache = try cache()
        // Hits are counted in memory and written every two seconds; the report includes the latest.
        try cache.flush()
        let report = try cache.report()
        let json = (try? JSONEncoder().encode(report)).flatMap { try? JSONValue.parse($0) } ?? .null
        return jsonResponse(json)
    }

    private func purge(_ request: Request) async throws -> Response {
        let fields = try JSONFields(try await request.decodeJSONBody(limit: 64 * 1024))
        let selection: CachePurge
        if try fields.bool("all") == true {
            selection = .all
        } else if let id = try fields.integer("id") {
            selection = .id(id)
        } else if let model = try fields.string("model") {
            selection = .model(model)
        } else if let scope = try fields.string("scope") {
            selection = .scope(scope)
        } else if let age = fields.value("older_than") {
            guard let seconds = age.number ?? age.string.flatMap(ConfigurationLoader.parseDuration) else {
                throw GatewayError.invalid(
                    "`older_than` must be seconds or a duration such as 7d.", param: "older_than")
            }
            selection = .olderThan(seconds)
        } else if let prompt = try fields.string("near") {
            selection = .near(
                prompt: prompt,
                threshold: try fields.number("threshold", in: 0...1) ?? gateway.configuration.cache.threshold)
        } else {
            throw GatewayError.invalid("Say what to purge: all, id, model, scope, older_than or near (with threshold).")
        }
        let deleted = try await cache().purge(selection)
        return jsonResponse(["deleted": .integer(Int64(deleted))])
    }

    private func export(_ request: Request) throws -> Response {
        let cache = try cache()
        let vectors = request.uri.queryParameters.get("vectors") == "true"
        var lines: [String] = []
        _ = try cache.export(includeVectors: vectors) { lines.append($0) }
        let body = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private func importEntries(_ request: Request) async throws -> Response {
        let buffer = try await request.collectBody(limit: 1 << 30)
        let lines = buffer.readableBytesView.split(separator: UInt8(ascii: "\n")).map {
            String(decoding: $0, as: UTF8.self)
        }
        let (imported, skipped) = try await cache().importEntries(lines)
        return jsonResponse(["imported": .integer(Int64(imported)), "skipped": .integer(Int64(skipped))])
    }
}
