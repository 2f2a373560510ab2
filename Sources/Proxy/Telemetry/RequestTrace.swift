import Canonical
import RouterShiftConfiguration
import Tracing

/// The server span of the request being served (``RequestTracingMiddleware`` starts it), and the child spans
/// its handling opens: authentication, the cache lookup and its steps, each upstream attempt, the cache store.
/// With no tracer configured there is no current trace and every helper here costs a task-local read.
final class RequestTrace: Sendable {
    /// The trace of the request this task serves.
    @TaskLocal static var current: RequestTrace?

    let span: any Span
    let tracer: any Tracer
    /// The W3C trace id (32 hex digits), stored in the request's log row; nil for a tracer without W3C ids.
    let traceID: String?

    init(span: any Span, tracer: any Tracer) {
        self.span = span
        self.tracer = tracer
        var carrier: [String: String] = [:]
        tracer.inject(span.context, into: &carrier, using: DictionaryInjector())
        traceID = carrier["traceparent"].flatMap(Self.traceID(ofTraceparent:))
    }

    /// The trace id of a `traceparent` value (`00-<trace id>-<span id>-<flags>`).
    static func traceID(ofTraceparent value: String) -> String? {
        let fields = value.split(separator: "-")
        guard fields.count == 4, fields[1].count == 32 else { return nil }
        return String(fields[1])
    }

    /// Runs `body` in a child span of the current one, named `name`; without a current trace, runs it alone.
    /// A thrown error is recorded on the span and marks it failed.
    static func child<Result, Failure: Error>(
        _ name: String, kind: SpanKind = .internal, _ body: (_ span: (any Span)?) async throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        guard let trace = current else { return try await body(nil) }
        let span = trace.tracer.startSpan(
            name, context: InstrumentationContext.current ?? trace.span.context, ofKind: kind)
        defer { span.end() }
        let outcome: Swift.Result<Result, Failure> = await InstrumentationContext.$current.withValue(span.context) {
            do throws(Failure) {
                return .success(try await body(span))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let value):
            return value
        case .failure(let error):
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// The current context's trace headers (`traceparent`, `tracestate`) for an upstream request.
    static func propagationHeaders() -> [(String, String)] {
        guard let trace = current, let context = InstrumentationContext.current else { return [] }
        var carrier: [String: String] = [:]
        trace.tracer.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The request's outcome on the server span, under the GenAI semantic conventions
    /// (`gen_ai.*`, from swift-otel-semantic-conventions 1.44) and RouterShift's own (`routershift.*`).
    func annotate(with record: RequestRecord) {
        span.updateAttributes { attributes in
            attributes["gen_ai.request.model"] = record.model
            attributes["gen_ai.usage.input_tokens"] = record.inputTokens
            attributes["gen_ai.usage.output_tokens"] = record.outputTokens
            attributes["routershift.key_id"] = record.keyID
            attributes["routershift.retries"] = record.retries
            attributes["routershift.cost"] = record.cost
            if let deployment = record.deployment { attributes["routershift.deployment"] = deployment }
            if let provider = record.provider { attributes["routershift.provider"] = provider }
            if let result = record.cacheResult { attributes["routershift.cache.result"] = result }
            if let similarity = record.cacheSimilarity { attributes["routershift.cache.similarity"] = similarity }
            if let error = record.errorType { attributes["error.type"] = error }
        }
    }

    /// The deployment that answered: its provider under the semantic conventions' names.
    func annotate(deployment: Deployment) {
        span.attributes["gen_ai.provider.name"] = deployment.adapter.kind.semanticConventionName
    }

    /// What the answer says of itself: the model that made it and why each choice ended.
    func annotate(answer: ChatResponse) {
        annotate(model: answer.model, finishReasons: answer.choices.compactMap(\.finishReason))
    }

    func annotate(model: String, finishReasons: [FinishReason]) {
        span.updateAttributes { attributes in
            attributes["gen_ai.response.model"] = model
            attributes["gen_ai.response.finish_reasons"] = finishReasons.map(\.rawValue)
        }
    }
}

extension GatewayConfiguration.ProviderKind {
    /// `gen_ai.provider.name`'s well-known value for this kind.
    var semanticConventionName: String {
        switch self {
        case .openAI: "openai"
        case .anthropic: "anthropic"
        case .gemini: "gcp.gemini"
        }
    }
}

extension RequestTrace: Equatable {
    /// The same trace object (a record carries it by reference).
    static func == (lhs: RequestTrace, rhs: RequestTrace) -> Bool { lhs === rhs }
}

/// Writes trace headers into a dictionary.
struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
