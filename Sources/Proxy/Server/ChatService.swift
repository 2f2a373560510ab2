import Embedding
import Foundation
import HTTPTypes
import NIOCore

/// Serves a canonical chat request whatever protocol it arrived in: authorisation of the model, the key's
/// limits, the semantic cache (lookup, coalescing, storing), routing to a deployment (streamed or not),
/// token accounting and the request record.
struct ChatService: Sendable {
    let routing: RoutingCore
    let admission: Admission
    let cache: SemanticCache?
    let configuration: GatewayConfiguration
    let recorder: any RequestRecorder

    /// The answer: complete, or a stream of chunks, with the headers the gateway adds.
    struct Outcome: Sendable {
        enum Body: Sendable {
            case complete(ChatResponse)
            case stream(ChatChunkStream)
        }

        var body: Body
        var headers: HTTPFields
    }

    /// Where a request stands with the cache.
    private struct CachePlan: Sendable {
        let cache: SemanticCache
        let key: CacheKey
        let directives: CacheDirectives
        var encoded: EncodedText?
        /// Whether this request leads its coalescing group and must release it.
        var leads = false

        var stores: Bool { directives.mode != .noStore }
        var result: String { directives.mode == .refresh ? "refresh" : "miss" }
    }

    func respond(to request: ChatRequest, principal: Principal, endpoint: String, directives: CacheDirectives)
        async throws -> Outcome
    {
        let started = Date()
        var record = RequestRecord(
            keyID: principal.keyID, team: principal.team, endpoint: endpoint, model: request.model)
        record.time = started.timeIntervalSince1970
        let estimate = Self.estimatedTokens(request)
        let permit: KeyPermit
        do {
            permit = try admission.admit(
                model: request.model, for: .chat, principal: principal, estimatedTokens: estimate)
        } catch {
            recorder.record(record.refused(error, started: started))
            throw error
        }

        var plan: CachePlan?
        do {
            let group = configuration.group(named: request.model)
            if let cache, group?.cacheEnabled != false {
                if directives.mode == .off {
                    record.cacheResult = "bypass"
                } else {
                    let key = CacheKey(
                        request: request, tenant: tenant(of: principal, scope: cache.settings.scope),
                        settings: cache.settings,
                        semanticEnabled: cache.embedder != nil)
                    plan = CachePlan(cache: cache, key: key, directives: directives)
                    let floor = cache.similarityFloor(groupThreshold: group?.cacheThreshold)
                    if directives.mode != .refresh,
                        let hit = try await lookup(&plan!, threshold: max(floor, directives.threshold ?? 0))
                    {
                        permit.release(tokens: 0)
                        return answer(from: hit, request: request, record: record, started: started)
                    }
                    record.cacheResult = plan!.result
                }
            }
            var outcome =
                request.stream
                ? try await stream(
                    request, estimate: estimate, permit: permit, record: record, started: started, plan: plan)
                : try await complete(
                    request, estimate: estimate, permit: permit, record: record, started: started, plan: plan)
            if record.cacheResult == "bypass" { outcome.headers[Self.cacheHeader] = "bypass" }
            return outcome
        } catch {
            if let plan, plan.leads { plan.cache.coalescer.finish(plan.key.exact) }
            permit.release(tokens: 0)
            recorder.record(record.refused(error, started: started))
            throw error
        }
    }

    /// The exact and semantic layers; on a miss, joins the coalescing group of identical requests, and a
    /// follower looks again once its leader is done.
    private func lookup(_ plan: inout CachePlan, threshold: Double) async throws -> SemanticCache.Hit? {
        switch try await plan.cache.lookup(plan.key, threshold: threshold) {
        case .hit(let hit):
            return hit
        case .miss(let encoded):
            plan.encoded = encoded
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

    private func answer(from hit: SemanticCache.Hit, request: ChatRequest, record: RequestRecord, started: Date)
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
        if request.stream {
            let chunks = response.chunks(includeUsage: request.includeUsage)
            let hitRecord = record
            let stream = ChatChunkStream(first: chunks, source: nil) { [recorder] _, _ in
                var record = hitRecord
                record.latencyMilliseconds = Date().timeIntervalSince(started) * 1000
                recorder.record(record)
            }
            return Outcome(body: .stream(stream), headers: headers)
        }
        record.latencyMilliseconds = Date().timeIntervalSince(started) * 1000
        recorder.record(record)
        return Outcome(body: .complete(response), headers: headers)
    }

    private func complete(
        _ request: ChatRequest, estimate: Int, permit: KeyPermit, record: RequestRecord, started: Date, plan: CachePlan?
    ) async throws -> Outcome {
        let routed = try await routing.execute(model: request.model, estimatedTokens: estimate) {
            deployment, deadline throws(UpstreamFailure) in
            try await deployment.adapter.complete(request, model: deployment.model, deadline: deadline)
        }
        let usage = routed.value.usage
        let cost = usage.flatMap { routed.deployment.price?.cost(of: $0) } ?? 0
        var headers = Self.headers(routed.deployment)
        if let plan {
            headers[Self.cacheHeader] = plan.result
            defer { if plan.leads { plan.cache.coalescer.finish(plan.key.exact) } }
            if plan.stores, routed.value.choices.allSatisfy({ $0.finishReason != nil }) {
                let id = try? await plan.cache.store(
                    routed.value, request: request, key: plan.key, encoded: plan.encoded, ttl: plan.directives.ttl,
                    cost: cost)
                if let id { headers[Self.cacheKeyHeader] = String(id) }
            }
        }
        finish(
            record, routed: routed.deployment, attempts: routed.attempts, usage: usage, started: started,
            firstToken: nil, permit: permit)
        return Outcome(body: .complete(routed.value), headers: headers)
    }

    private func stream(
        _ request: ChatRequest, estimate: Int, permit: KeyPermit, record: RequestRecord, started: Date, plan: CachePlan?
    ) async throws -> Outcome {
        let routed = try await routing.execute(model: request.model, estimatedTokens: estimate, isStream: true) {
            deployment, deadline throws(UpstreamFailure) in
            let source = try await deployment.adapter.stream(request, model: deployment.model, deadline: deadline)
            guard let first = try await source.next() else { throw UpstreamFailure.malformed("the stream was empty") }
            return StartedStream(source: source, first: first)
        }
        let firstToken = Date()
        let deployment = routed.deployment
        // Only a stream the cache will store needs its content kept.
        let capture = plan?.stores == true ? configuration.routing.maxStreamCaptureBytes : 0
        let stream = ChatChunkStream(
            first: [routed.value.first], source: routed.value.source,
            accumulator: ChatStreamAccumulator(maxRetainedBytes: capture)
        ) { [self] answer, completed in
            var record = record
            if !completed {
                record.status = 499
                record.errorType = "stream_incomplete"
            }
            let usage = answer.usage ?? Usage(promptTokens: estimate, completionTokens: answer.textLength / 4)
            finish(
                record, routed: deployment, attempts: routed.attempts, usage: usage, started: started,
                firstToken: firstToken, permit: permit)
            guard let plan else { return }
            guard completed, plan.stores, answer.isComplete else {
                if plan.leads { plan.cache.coalescer.finish(plan.key.exact) }
                return
            }
            // Stored only once the stream completed normally.
            let response = answer.response
            let cost = deployment.price?.cost(of: usage) ?? 0
            Task {
                _ = try? await plan.cache.store(
                    response, request: request, key: plan.key, encoded: plan.encoded, ttl: plan.directives.ttl,
                    cost: cost)
                if plan.leads { plan.cache.coalescer.finish(plan.key.exact) }
            }
        }
        var headers = Self.headers(deployment)
        if let plan { headers[Self.cacheHeader] = plan.result }
        return Outcome(body: .stream(stream), headers: headers)
    }

    private struct StartedStream: Sendable {
        let source: ChatChunkSource
        let first: ChatChunk
    }

    private func finish(
        _ record: RequestRecord, routed deployment: Deployment, attempts: Int, usage: Usage?, started: Date,
        firstToken: Date?,
        permit: KeyPermit
    ) {
        var record = record
        let tokens = usage?.totalTokens ?? 0
        permit.release(tokens: tokens)
        routing.recordTokens(tokens, on: deployment)
        record.deployment = deployment.name
        record.provider = deployment.providerName
        record.retries = attempts - 1
        record.latencyMilliseconds = Date().timeIntervalSince(started) * 1000
        record.timeToFirstTokenMilliseconds = firstToken.map { $0.timeIntervalSince(started) * 1000 }
        if let usage {
            record.inputTokens = usage.promptTokens
            record.outputTokens = usage.completionTokens
            record.cost = deployment.price?.cost(of: usage) ?? 0
        }
        recorder.record(record)
    }

    private func tenant(of principal: Principal, scope: GatewayConfiguration.CacheScope) -> String {
        switch scope {
        case .key: "key:" + principal.keyID
        case .team: principal.team.map { "team:" + $0 } ?? "key:" + principal.keyID
        case .global: "global"
        }
    }

    static let cacheHeader = HTTPField.Name("x-routershift-cache")!
    static let cacheKeyHeader = HTTPField.Name("x-routershift-cache-key")!
    static let similarityHeader = HTTPField.Name("x-routershift-cache-similarity")!
    static let verifierHeader = HTTPField.Name("x-routershift-cache-verifier")!

    static func headers(_ deployment: Deployment) -> HTTPFields {
        [HTTPField.Name("x-routershift-deployment")!: deployment.name]
    }

    /// A rough count of the tokens a request will use: four characters a token of its text, plus its
    /// output limit. Only quotas use it; the log uses the upstream's counts.
    static func estimatedTokens(_ request: ChatRequest) -> Int {
        let characters = request.messages.reduce(0) { $0 + $1.text.count }
        return characters / 4 + min(request.maxTokens ?? 256, 4096)
    }
}
