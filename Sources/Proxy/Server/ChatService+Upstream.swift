import Foundation
import HTTPTypes

/// The upstream's part in serving a chat request: routing it to a deployment, complete or streamed, and
/// storing the answer in the cache once it is whole.
extension ChatService {
    func complete(
        _ request: ChatRequest, estimate: Int, permit: KeyPermit, record: RequestRecord, started: RequestStart,
        plan: CachePlan?
    ) async throws -> Outcome {
        let routed = try await routing.execute(model: request.model, estimatedTokens: estimate) {
            deployment, deadline throws(UpstreamFailure) in
            let translated = translated(request, for: deployment)
            let response = try await deployment.adapter.complete(
                translated.request, model: deployment.model, deadline: deadline)
            return (response: response, dropped: translated.dropped)
        }
        let response = routed.value.response
        let usage = response.usage
        let cost = usage.flatMap { routed.deployment.price?.cost(of: $0) } ?? 0
        var headers = Self.headers(routed.deployment, dropped: routed.value.dropped)
        if let plan {
            headers[Self.cacheHeader] = plan.result
            defer { if plan.leads { plan.cache.coalescer.finish(plan.key.exact) } }
            let complete = response.choices.allSatisfy { $0.finishReason != nil }
            if complete { scheduleNearMissAudit(of: plan, request: request, fresh: response) }
            if plan.stores, complete {
                let id = try? await plan.cache.store(
                    response, request: request, key: plan.key, encoded: plan.encoded, ttl: plan.directives.ttl,
                    cost: cost)
                if let id { headers[Self.cacheKeyHeader] = String(id) }
            }
        }
        record.trace?.annotate(answer: response)
        finish(
            record, routed: routed.deployment, attempts: routed.attempts, usage: usage, started: started,
            firstToken: nil, permit: permit)
        return Outcome(body: .complete(response), headers: headers)
    }

    func stream(
        _ request: ChatRequest, estimate: Int, permit: KeyPermit, record: RequestRecord, started: RequestStart,
        plan: CachePlan?
    ) async throws -> Outcome {
        let routed = try await routing.execute(model: request.model, estimatedTokens: estimate, isStream: true) {
            deployment, deadline throws(UpstreamFailure) in
            let translated = translated(request, for: deployment)
            let source = try await deployment.adapter.stream(
                translated.request, model: deployment.model, deadline: deadline)
            guard let first = try await source.next() else { throw UpstreamFailure.malformed("the stream was empty") }
            return StartedStream(source: source, first: first, dropped: translated.dropped)
        }
        let firstToken = started.elapsedMilliseconds()
        let deployment = routed.deployment
        // Only a stream the cache will store, or whose near-miss may be audited, needs its content kept.
        let capture =
            plan?.stores == true || plan?.nearMiss != nil ? configuration.routing.maxStreamCaptureBytes : 0
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
            record.trace?.annotate(
                model: answer.model, finishReasons: answer.finishReasons.keys.sorted().map { answer.finishReasons[$0]! }
            )
            finish(
                record, routed: deployment, attempts: routed.attempts, usage: usage, started: started,
                firstToken: firstToken, permit: permit)
            guard let plan else { return }
            if completed, answer.isComplete {
                scheduleNearMissAudit(of: plan, request: request, fresh: answer.response)
            }
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
        var headers = Self.headers(deployment, dropped: routed.value.dropped)
        if let plan { headers[Self.cacheHeader] = plan.result }
        return Outcome(body: .stream(stream), headers: headers)
    }

    struct StartedStream: Sendable {
        let source: ChatChunkSource
        let first: ChatChunk
        /// The parameters left out for the deployment, by the group's translation policy.
        let dropped: [String]
    }

    /// `request` as it goes to `deployment`: with the group's `translation.unsupported: drop`, without the
    /// parameters the deployment's protocol cannot express (named in `dropped`); else unchanged, and the
    /// encoder refuses them.
    func translated(_ request: ChatRequest, for deployment: Deployment) -> (request: ChatRequest, dropped: [String]) {
        Translation.applying(
            configuration.unsupportedParameters(inGroup: deployment.group), to: request,
            for: deployment.adapter.kind.wireProtocol)
    }
}
