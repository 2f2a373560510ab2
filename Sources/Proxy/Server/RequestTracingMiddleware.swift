import HTTPTypes
import Hummingbird
import Tracing

/// One server span per request, when traces are exported: a client's W3C `traceparent` is continued (same
/// trace, the client's span as parent), the span is the request's ``RequestTrace`` while it is handled, and
/// it ends once the response body is written (a stream's last event included).
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let tracer: any Tracer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var parent = InstrumentationContext.topLevel
        tracer.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        // The route's template (`/v1/tasks/{id}`), never the raw path: span names stay a bounded set.
        let route = context.endpointPath ?? "unmatched route"
        let span = tracer.startSpan("\(request.method) \(route)", context: parent, ofKind: .server)
        span.updateAttributes { attributes in
            attributes["http.request.method"] = request.method.rawValue
            attributes["http.route"] = route
            attributes["url.path"] = request.uri.path
            if let id = RequestID.current { attributes["routershift.request_id"] = id }
        }
        let trace = RequestTrace(span: span, tracer: tracer)
        do {
            var response = try await RequestTrace.$current.withValue(trace) {
                try await InstrumentationContext.$current.withValue(span.context) { try await next(request, context) }
            }
            let status = Int(response.status.code)
            span.attributes["http.response.status_code"] = status
            if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                do {
                    try await body.write(writer)
                    span.end()
                } catch {
                    span.recordError(error)
                    span.end()
                    throw error
                }
            }
            return response
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            span.end()
            throw error
        }
    }
}

/// Reads trace headers from a request's fields.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}
