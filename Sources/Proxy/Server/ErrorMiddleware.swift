import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Turns every error a route throws into a response in the caller's protocol format: gateway errors as
/// they are, Hummingbird's (body too large, bad path) mapped, anything else a 500 that is logged and
/// never shown.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as GatewayError {
            return Self.response(for: error, path: request.uri.path)
        } catch let error as HTTPError {
            let gatewayError: GatewayError
            switch error.status {
            case .contentTooLarge:
                gatewayError = GatewayError(
                    .requestTooLarge, "The request body is larger than this gateway accepts.", code: "request_too_large"
                )
            case .notFound:
                gatewayError = GatewayError(
                    .notFound, "No route for \(request.method) \(request.uri.path).", code: "not_found")
            case .methodNotAllowed:
                gatewayError = GatewayError(
                    .invalidRequest, "\(request.method) is not allowed on \(request.uri.path).",
                    code: "method_not_allowed")
            default:
                gatewayError = GatewayError(
                    .invalidRequest, error.body ?? error.status.reasonPhrase, code: "bad_request")
            }
            return Self.response(for: gatewayError, path: request.uri.path)
        } catch is CancellationError {
            return Self.response(for: UpstreamFailure.cancelled.gatewayError, path: request.uri.path)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            return Self.response(
                for: GatewayError(.internalError, "The gateway failed to handle this request.", code: "internal_error"),
                path: request.uri.path)
        }
    }

    static func response(for error: GatewayError, path: String) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = error.retryAfter { headers[.retryAfter] = String(retryAfter) }
        // The OpenAI and Anthropic SDKs retry a 429 unless told not to; a spent budget will not recover soon.
        if error.kind == .budgetExceeded { headers[HTTPField.Name("x-should-retry")!] = "false" }
        let body = error.body(for: ClientProtocol.forPath(path)).serialized()
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
