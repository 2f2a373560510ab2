import Embedding
import Foundation
import HTTPTypes
import NIOCore
import RouterShiftConfiguration

/// Serves a canonical chat request whatever protocol it arrived in, one concern per file: admission (the
/// model's authorisation and the key's limits, +Admission), the semantic cache (lookup, coalescing, hits,
/// +CachePlan), the upstream (routing, streamed or not, storing the answer, +Upstream) and accounting
/// (tokens, cost, the request record and headers, +Accounting). This file puts them in order.
struct ChatService: Sendable {
    let routing: RoutingCore
    let admission: Admission
    let cache: SemanticCache?
    let configuration: GatewayConfiguration
    let recorder: any RequestRecorder
    /// Audits of semantic hits (`cache.audit`); nil without a semantic layer.
    let auditor: CacheAuditor?

    /// The answer: complete, or a stream of chunks, with the headers the gateway adds.
    struct Outcome: Sendable {
        enum Body: Sendable {
            case complete(ChatResponse)
            case stream(ChatChunkStream)
        }

        var body: Body
        var headers: HTTPFields
    }

    func respond(to request: ChatRequest, principal: Principal, endpoint: String, directives: CacheDirectives)
        async throws -> Outcome
    {
        let started = RequestStart(clock: routing.clock)
        RequestTrace.current?.span.attributes["gen_ai.operation.name"] = "chat"
        var record = RequestRecord(
            time: started.wallTime, keyID: principal.keyID, team: principal.team, endpoint: endpoint,
            model: request.model)
        let estimate = Self.estimatedTokens(request)
        let permit = try admit(request, principal: principal, estimate: estimate, record: record, started: started)

        var plan: CachePlan?
        do {
            switch try await consultCache(request, principal: principal, directives: directives) {
            case .notApplicable:
                break
            case .bypass:
                record.cacheResult = "bypass"
            case .hit(let hit):
                permit.release(tokens: 0)
                if hit.semantic, directives.allowsAudit, principal.allowsCacheAudit {
                    scheduleAudit(of: hit, request: request)
                }
                return answer(from: hit, request: request, record: record, started: started)
            case .miss(let missed):
                plan = missed
                record.cacheResult = missed.result
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
}
