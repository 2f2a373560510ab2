import Foundation
import HTTPTypes

/// What serving a chat request costs and reports: the token estimate the key's limits admit on, the
/// tokens and cost recorded once it is done, and the response headers the gateway adds.
extension ChatService {
    func finish(
        _ record: RequestRecord, routed deployment: Deployment, attempts: Int, usage: Usage?, started: RequestStart,
        firstToken: Double?,
        permit: KeyPermit
    ) {
        permit.release(tokens: usage?.totalTokens ?? 0)
        var record = account(record, routed: deployment, attempts: attempts, usage: usage, started: started)
        record.timeToFirstTokenMilliseconds = firstToken
        recorder.record(record)
    }

    /// `record` with what the routed call used: the deployment, retries, latency, tokens and their cost; the
    /// tokens also count against the deployment's quota.
    func account(
        _ record: RequestRecord, routed deployment: Deployment, attempts: Int, usage: Usage?, started: RequestStart
    ) -> RequestRecord {
        var record = record
        routing.recordTokens(usage?.totalTokens ?? 0, on: deployment)
        record.trace?.annotate(deployment: deployment)
        record.deployment = deployment.name
        record.provider = deployment.providerName
        record.retries = attempts - 1
        record.latencyMilliseconds = started.elapsedMilliseconds()
        if let usage {
            record.inputTokens = usage.promptTokens
            record.outputTokens = usage.completionTokens
            record.cost = deployment.price?.cost(of: usage) ?? 0
        }
        return record
    }

    static let cacheHeader = HTTPField.Name("x-routershift-cache")!
    static let cacheKeyHeader = HTTPField.Name("x-routershift-cache-key")!
    static let similarityHeader = HTTPField.Name("x-routershift-cache-similarity")!
    static let verifierHeader = HTTPField.Name("x-routershift-cache-verifier")!

    static let droppedParametersHeader = HTTPField.Name("x-routershift-dropped-params")!

    /// The deployment that answered, and the parameters left out for it (comma-separated), if any.
    static func headers(_ deployment: Deployment, dropped: [String] = []) -> HTTPFields {
        var fields: HTTPFields = [HTTPField.Name("x-routershift-deployment")!: deployment.name]
        if !dropped.isEmpty { fields[droppedParametersHeader] = dropped.joined(separator: ", ") }
        return fields
    }

    /// A rough count of the tokens a request will use: four characters a token of its text, plus its
    /// output limit. Only quotas use it; the log uses the upstream's counts.
    static func estimatedTokens(_ request: ChatRequest) -> Int {
        let characters = request.messages.reduce(0) { $0 + $1.text.count }
        return characters / 4 + min(request.maxTokens ?? 256, 4096)
    }
}
