import Embedding
import Foundation
import RouterShiftConfiguration

/// Audits of semantic hits (``CacheAuditor``): the request answered upstream again in the background, its
/// cost logged as audit spend (key `audit`, endpoint `cache-audit`, so no key's or team's budget counts it),
/// and the judgement recorded: the embedder's cosine of the two answers, or a judge model group's verdict.
extension ChatService {
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
            let fresh = response.choices.first?.message.text ?? ""
            let cached = hit.response.choices.first?.message.text ?? ""
            let agrees: Bool?
            if let judge = settings.judge {
                agrees = try await judged(
                    question: hit.query ?? request.messages.last?.text ?? "", fresh, cached, judge: judge,
                    auditor: auditor)
            } else {
                agrees = try await CacheAuditor.agree(fresh, cached, embedder: embedder, agreement: settings.agreement)
            }
            // A judge that answers neither way is no evidence.
            guard let agrees else { return }
            auditor.observe(model: request.model, wrong: !agrees, maxWrongHitRate: cache.settings.maxWrongHitRate)
            try cache.recordAudit(of: hit, wrong: !agrees)
        } catch {
            // An upstream failure is in the request log (askAsAudit); there is nothing to observe.
        }
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
