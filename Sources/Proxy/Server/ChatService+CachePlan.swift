import Embedding
import Foundation
import HTTPTypes
import RouterShiftConfiguration

/// The cache's part in serving a chat request: where the request stands with the cache, the lookup
/// (with coalescing of identical requests), and answering from a hit.
extension ChatService {
    /// Where a request stands with the cache.
    struct CachePlan: Sendable {
        let cache: SemanticCache
        let key: CacheKey
        let directives: CacheDirectives
        /// The key id of the request, whose feedback withdrawals the lookup honours.
        let caller: String
        var encoded: EncodedText?
        /// The miss's near-miss, when the request may be audited.
        var nearMiss: SemanticCache.Hit?
        /// Whether the request may be audited: neither it nor its key refused it.
        let audits: Bool
        /// Whether this request leads its coalescing group and must release it.
        var leads = false

        var stores: Bool { directives.mode != .noStore }
        var result: String { directives.mode == .refresh ? "refresh" : "miss" }
    }

    /// What the cache made of a request.
    enum CacheConsultation: Sendable {
        /// The cache is off, or off for the request's model group.
        case notApplicable
        /// The client asked to bypass it.
        case bypass
        case hit(SemanticCache.Hit)
        /// A miss (or a refresh): the plan for storing the answer.
        case miss(CachePlan)
    }

    /// Looks the request up unless the cache does not apply or the client bypasses or refreshes it.
    func consultCache(_ request: ChatRequest, principal: Principal, directives: CacheDirectives) async throws
        -> CacheConsultation
    {
        let group = configuration.group(named: request.model)
        guard let cache, group?.cacheEnabled != false else { return .notApplicable }
        guard directives.mode != .off else { return .bypass }
        let key = CacheKey(
            request: request, tenant: tenant(of: principal, scope: cache.settings.scope), settings: cache.settings,
            semanticEnabled: cache.embedder != nil)
        var plan = CachePlan(
            cache: cache, key: key, directives: directives, caller: principal.keyID,
            audits: directives.allowsAudit && principal.allowsCacheAudit)
        let strictness = auditor?.strictness(for: request.model) ?? 0
        let floor = cache.similarityFloor(groupThreshold: group?.cacheThreshold) + strictness
        if directives.mode != .refresh,
            let hit = try await lookup(&plan, threshold: max(floor, directives.threshold ?? 0), strictness: strictness)
        {
            return .hit(hit)
        }
        return .miss(plan)
    }

    /// The exact and semantic layers; on a miss, joins the coalescing group of identical requests, and a
    /// follower looks again once its leader is done.
    func lookup(_ plan: inout CachePlan, threshold: Double, strictness: Double) async throws -> SemanticCache.Hit? {
        switch try await plan.cache.lookup(plan.key, threshold: threshold, caller: plan.caller, strictness: strictness)
        {
        case .hit(let hit):
            return hit
        case .miss(let encoded, let nearMiss):
            plan.encoded = encoded
            if plan.audits { plan.nearMiss = nearMiss }
        }
        plan.leads = await plan.cache.coalescer.join(plan.key.exact)
        if !plan.leads,
            case .hit(let hit) = try await plan.cache.lookup(plan.key, threshold: threshold, semantic: false)
        {
            return hit
        }
        plan.cache.noteMiss()
        return nil
    }

    func answer(from hit: SemanticCache.Hit, request: ChatRequest, record: RequestRecord, started: RequestStart)
        -> Outcome
    {
        hit.entry.id.map { _ in cache?.noteHit(hit) }
        var response = hit.response
        response.id = ChatIdentifiers.completionID()
        response.created = Int(ChatIdentifiers.now())
        response.model = request.model
        var record = record
        record.cacheResult = hit.semantic ? "semantic-hit" : "hit"
        record.cacheSimilarity = hit.similarity
        record.tokensSaved = hit.entry.promptTokens + hit.entry.completionTokens
        record.costSaved = hit.entry.cost
        record.inputTokens = hit.entry.promptTokens
        record.outputTokens = hit.entry.completionTokens
        var headers: HTTPFields = [
            Self.cacheHeader: record.cacheResult!, Self.cacheKeyHeader: String(hit.entry.id ?? 0),
            Self.similarityHeader: String(format: "%.4f", hit.similarity),
        ]
        if let score = hit.verifierScore { headers[Self.verifierHeader] = String(format: "%.4f", score) }
        if let trace = record.trace {
            trace.annotate(answer: hit.response)
            if let score = hit.verifierScore { trace.span.attributes["routershift.cache.verifier_score"] = score }
        }
        if request.stream {
            let chunks = response.chunks(includeUsage: request.includeUsage)
            let hitRecord = record
            let stream = ChatChunkStream(first: chunks, source: nil) { [recorder] _, _ in
                var record = hitRecord
                record.latencyMilliseconds = started.elapsedMilliseconds()
                recorder.record(record)
            }
            return Outcome(body: .stream(stream), headers: headers)
        }
        record.latencyMilliseconds = started.elapsedMilliseconds()
        recorder.record(record)
        return Outcome(body: .complete(response), headers: headers)
    }

    func tenant(of principal: Principal, scope: GatewayConfiguration.CacheScope) -> String {
        switch scope {
        case .key: "key:" + principal.keyID
        case .team: principal.team.map { "team:" + $0 } ?? "key:" + principal.keyID
        case .global: "global"
        }
    }
}
