import Embedding
import Foundation

/// Audits of semantic hits (``CacheAuditor``): the request answered upstream again in the background, its
/// cost logged as audit spend (key `audit`, endpoint `cache-audit`, so no key's or team's budget counts it),
/// and the judgement recorded.
extension ChatService {
    func scheduleAudit(of hit: SemanticCache.Hit, request: ChatRequest) {
        guard let auditor, let cache, let settings = cache.settings.audit, let embedder = cache.embedder,
            auditor.claim(request, settings: settings, now: routing.clock.wallTime())
        else { return }
        let service = self
        Task {
            defer { auditor.release() }
            await service.audit(
                hit, request: request, cache: cache, auditor: auditor, agreement: settings.agreement,
                embedder: embedder)
        }
    }

    private func audit(
        _ hit: SemanticCache.Hit, request: ChatRequest, cache: SemanticCache, auditor: CacheAuditor,
        agreement: Double, embedder: any Embedder
    ) async {
        var request = request
        request.stream = false
        let started = RequestStart(clock: routing.clock)
        var record = RequestRecord(
            time: started.wallTime, keyID: "audit", team: nil, endpoint: "cache-audit", model: request.model)
        // The request's span has ended; the audit is not part of it.
        record.trace = nil
        record.traceID = nil
        do {
            let routed = try await routing.execute(model: request.model, estimatedTokens: Self.estimatedTokens(request))
            {
                deployment, deadline throws(UpstreamFailure) in
                try await deployment.adapter.complete(
                    translated(request, for: deployment).request, model: deployment.model, deadline: deadline)
            }
            let response = routed.value
            let usage = response.usage
            let cost = usage.flatMap { routed.deployment.price?.cost(of: $0) } ?? 0
            routing.recordTokens(usage?.totalTokens ?? 0, on: routed.deployment)
            record.deployment = routed.deployment.name
            record.provider = routed.deployment.providerName
            record.retries = routed.attempts - 1
            record.inputTokens = usage?.promptTokens ?? 0
            record.outputTokens = usage?.completionTokens ?? 0
            record.cost = cost
            record.latencyMilliseconds = started.elapsedMilliseconds()
            recorder.record(record)
            auditor.spend(cost, now: routing.clock.wallTime())
            let fresh = response.choices.first?.message.text ?? ""
            let cached = hit.response.choices.first?.message.text ?? ""
            let wrong = try await !CacheAuditor.agree(fresh, cached, embedder: embedder, agreement: agreement)
            auditor.observe(model: request.model, wrong: wrong, maxWrongHitRate: cache.settings.maxWrongHitRate)
            try cache.recordAudit(of: hit, wrong: wrong)
        } catch {
            recorder.record(record.refused(error, started: started))
        }
    }
}
