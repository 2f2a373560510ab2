import Embedding
import Foundation
import RouterShiftConfiguration

/// Audits of semantic hits (``CacheAuditor``): the request answered upstream again in the background, its
/// cost logged as audit spend (key `audit`, endpoint `cache-audit`, so no key's or team's budget counts it),
/// and the judgement recorded: the embedder's cosine of the two answers, or a judge model group's verdict.
/// Audits of near-misses judge the miss's fresh answer against its best candidate's cached one, with no
/// second upstream call.
extension ChatService {
    func scheduleNearMissAudit(of plan: CachePlan, request: ChatRequest, fresh: ChatResponse) {
        guard let nearMiss = plan.nearMiss, let auditor, let settings = plan.cache.settings.audit,
            let embedder = plan.cache.embedder,
            auditor.claimNearMiss(request, settings: settings, now: routing.clock.wallTime())
        else { return }
        let service = self
        let cache = plan.cache
        Task {
            defer { auditor.release() }
            do {
                guard
                    let agrees = try await service.judge(
                        fresh, nearMiss, request: request, settings: settings, embedder: embedder, auditor: auditor)
                else { return }
                auditor.observe(
                    model: request.model, wrong: !agrees, nearMiss: true, settings: cache.settings,
                    now: service.routing.clock.wallTime())
                try cache.recordAudit(of: nearMiss, wrong: !agrees, nearMiss: true)
            } catch {
                // A judge's upstream failure is in the request log; there is nothing to observe.
            }
        }
    }

    func scheduleAudit(of hit: SemanticCache.Hit, request: ChatRequest) {
        guard let auditor, let cache, let settings = cache.settings.audit, let embedder = cache.embedder,
            auditor.claim(request, settings: settings, now: routing.clock.wallTime())
        else { return }
        let service = self
        Task {
            defer { auditor.release() }
            await service.audit(
                hit, request: request, cache: cache, auditor: auditor, settings: settings, embedder: embedder)
        }
    }

    private func audit(
        _ hit: SemanticCache.Hit, request: ChatRequest, cache: SemanticCache, auditor: CacheAuditor,
        settings: GatewayConfiguration.Audit, embedder: any Embedder
    ) async {
        var request = request
        request.stream = false
        do {
            let response = try await askAsAudit(request, auditor: auditor)
            // A judge that answers neither way is no evidence.
            guard
                let agrees = try await judge(
                    response, hit, request: request, settings: settings, embedder: embedder, auditor: auditor)
            else { return }
            auditor.observe(
                model: request.model, wrong: !agrees, settings: cache.settings, now: routing.clock.wallTime())
            try cache.recordAudit(of: hit, wrong: !agrees)
        } catch {
            // An upstream failure is in the request log (askAsAudit); there is nothing to observe.
        }
    }

    /// Whether `fresh` says what the cached answer of `hit` says: the judge group's verdict, or the embedder's
    /// cosine of the two; nil when the judge answers neither way or an answer has no text to compare.
    private func judge(
        _ fresh: ChatResponse, _ hit: SemanticCache.Hit, request: ChatRequest, settings: GatewayConfiguration.Audit,
        embedder: any Embedder, auditor: CacheAuditor
    ) async throws -> Bool? {
        guard let (fresh, cached) = CacheAuditor.comparableTexts(fresh, hit.response) else { return nil }
        guard let judge = settings.judge else {
            return try await CacheAuditor.agree(fresh, cached, embedder: embedder, agreement: settings.agreement)
        }
        return try await judged(
            question: hit.query ?? request.messages.last?.text ?? "", fresh, cached, judge: judge, auditor: auditor)
    }

    /// `request` answered upstream as audit spend (key `audit`, endpoint `cache-audit`).
    private func askAsAudit(_ request: ChatRequest, auditor: CacheAuditor) async throws -> ChatResponse {
        let started = RequestStart(clock: routing.clock)
        var record = RequestRecord(
            time: started.wallTime, keyID: "audit", team: nil, endpoint: "cache-audit", model: request.model)
        // The client's request span has ended; audits are not part of it.
        record.trace = nil
        record.traceID = nil
        do {
            let routed = try await routing.execute(model: request.model, estimatedTokens: Self.estimatedTokens(request))
            {
                deployment, deadline throws(UpstreamFailure) in
                try await deployment.adapter.complete(
                    translated(request, for: deployment).request, model: deployment.model, deadline: deadline)
            }
            record = account(
                record, routed: routed.deployment, attempts: routed.attempts, usage: routed.value.usage,
                started: started)
            recorder.record(record)
            auditor.spend(record.cost, now: routing.clock.wallTime())
            return routed.value
        } catch {
            recorder.record(record.refused(error, started: started))
            throw error
        }
    }

    /// The judge group's verdict on whether two answers to `question` say the same: true for SAME, false for
    /// DIFFERENT, nil for anything else.
    private func judged(question: String, _ first: String, _ second: String, judge: String, auditor: CacheAuditor)
        async throws -> Bool?
    {
        let prompt = ChatRequest(
            model: judge,
            messages: [
                ChatMessage(role: .system, text: Self.judgeInstructions),
                ChatMessage(role: .user, text: "Question: \(question)\n\nAnswer A: \(first)\n\nAnswer B: \(second)"),
            ], temperature: 0, maxTokens: 5)
        let verdict = try await askAsAudit(prompt, auditor: auditor).choices.first?.message.text ?? ""
        let word = verdict.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters)).uppercased()
        if word.hasPrefix("SAME") { return true }
        if word.hasPrefix("DIFFERENT") { return false }
        return nil
    }

    static let judgeInstructions =
        "You compare two answers to the same question. Reply with one word: SAME if they give the same answer "
        + "(wording aside), DIFFERENT if they do not."
}
