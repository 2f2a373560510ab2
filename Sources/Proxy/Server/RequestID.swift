import HTTPTypes
import Hummingbird

/// The id of the request being served, answered in `x-request-id` on every response and stored in its
/// request-log row: the client's own `x-request-id` when it is a sane token (1 to 128 characters of
/// `A-Z a-z 0-9 . _ - :`), otherwise a generated `req_` id.
enum RequestID {
    static let header = HTTPField.Name("x-request-id")!
    static let maximumLength = 128

    /// The id of the request this task serves; records made while serving it carry it.
    @TaskLocal static var current: String?

    /// The client's id if it is a sane token, else a new one.
    static func accepting(_ presented: String?) -> String {
        if let presented, isSane(presented) { return presented }
        return "req_" + ChatIdentifiers.random(24)
    }

    static func isSane(_ value: String) -> Bool {
        (1...maximumLength).contains(value.utf8.count)
            && value.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"),
                    UInt8(ascii: ":"):
                    true
                default: false
                }
            }
    }
}

/// Gives every request its id (``RequestID``) for the length of its handling, and answers it in
/// `x-request-id`, errors included. The outermost middleware.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let id = RequestID.accepting(request.headers[RequestID.header])
        var response = try await RequestID.$current.withValue(id) { try await next(request, context) }
        response.headers[RequestID.header] = id
        return response
    }
}
