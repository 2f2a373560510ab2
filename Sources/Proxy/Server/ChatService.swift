import Foundation
import HTTPTypes
import NIOCore

/// Serves a canonical chat request whatever protocol it arrived in: authorisation of the model, the key's
/// limits, routing to a deployment (streamed or not), token accounting and the request record.
struct ChatService: Sendable {
    let routing: RoutingCore
    let limiter: KeyLimiter
    let prices: PriceTable
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

    func respond(to request: ChatRequest, principal: Principal, endpoint: String) async throws -> Outcome {
        guard routing.groups[request.model] != nil else { throw GatewayError.unknownModel(request.model) }
        guard principal.allows(model: request.model) else {
            throw GatewayError(
                .permission, "This key may not use the model `\(request.model)`.", param: "model",
                code: "model_not_allowed")
        }
        let estimate = Self.estimatedTokens(request)
        let permit: KeyPermit
        if case .key(let key) = principal {
            permit = try limiter.admit(key, estimatedTokens: estimate)
        } else {
            permit = .unlimited
        }
        let started = Date()
        var record = RequestRecord(
            keyID: principal.keyID, team: principal.team, endpoint: endpoint, model: request.model)
        record.time = started.timeIntervalSince1970
        do {
            return request.stream
                ? try await stream(request, estimate: estimate, permit: permit, record: record, started: started)
                : try await complete(request, estimate: estimate, permit: permit, record: record, started: started)
        } catch let error as GatewayError {
            permit.release(tokens: 0)
            record.status = Int(error.status.code)
            record.errorType = error.code ?? error.kind.rawValue
            record.latencyMilliseconds = Date().timeIntervalSince(started) * 1000
            recorder.record(record)
            throw error
        }
    }

    private func complete(
        _ request: ChatRequest, estimate: Int, permit: KeyPermit, record: RequestRecord, started: Date
    ) async throws
        -> Outcome
    {
        let routed = try await routing.execute(model: request.model, estimatedTokens: estimate) {
            deployment, deadline throws(UpstreamFailure) in
            try await deployment.adapter.complete(request, model: deployment.model, deadline: deadline)
        }
        let usage = routed.value.usage
        finish(
            record, routed: routed.deployment, attempts: routed.attempts, usage: usage, started: started,
            firstToken: nil, permit: permit)
        return Outcome(body: .complete(routed.value), headers: headers(routed.deployment))
    }

    private func stream(_ request: ChatRequest, estimate: Int, permit: KeyPermit, record: RequestRecord, started: Date)
        async throws
        -> Outcome
    {
        let routed = try await routing.execute(model: request.model, estimatedTokens: estimate, isStream: true) {
            deployment, deadline throws(UpstreamFailure) in
            let source = try await deployment.adapter.stream(request, model: deployment.model, deadline: deadline)
            guard let first = try await source.next() else { throw UpstreamFailure.malformed("the stream was empty") }
            return StartedStream(source: source, first: first)
        }
        let firstToken = Date()
        let deployment = routed.deployment
        let stream = ChatChunkStream(first: [routed.value.first], source: routed.value.source) {
            [self] answer, completed in
            var record = record
            if !completed {
                record.status = 499
                record.errorType = "stream_incomplete"
            }
            let usage = answer.usage ?? Usage(promptTokens: estimate, completionTokens: answer.textLength / 4)
            finish(
                record, routed: deployment, attempts: routed.attempts, usage: usage, started: started,
                firstToken: firstToken, permit: permit)
        }
        return Outcome(body: .stream(stream), headers: headers(deployment))
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

    private func headers(_ deployment: Deployment) -> HTTPFields {
        [HTTPField.Name("x-routershift-deployment")!: deployment.name]
    }

    /// A rough count of the tokens a request will use: four characters a token of its text, plus its
    /// output limit. Only quotas use it; the log uses the upstream's counts.
    static func estimatedTokens(_ request: ChatRequest) -> Int {
        let characters = request.messages.reduce(0) { $0 + $1.text.count }
        return characters / 4 + min(request.maxTokens ?? 256, 4096)
    }
}
