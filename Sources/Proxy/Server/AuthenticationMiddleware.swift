import HTTPTypes
import Hummingbird

/// Authenticates every /v1, /admin and Azure-style /openai request: `Authorization: Bearer KEY`,
/// `x-api-key: KEY`, Azure's `api-key: KEY` (and, on Gemini paths, `x-goog-api-key` or `?key=`), the master key from the configuration or a virtual key from
/// the ``KeyDirectory``, which reads no database. A key revoked through this gateway is refused from its next
/// request; one revoked in another process (`routershift keys revoke`) within a second.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let masterKey: String?
    let keys: KeyDirectory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        guard path.hasPrefix("/v1") || path.hasPrefix("/admin") || path.hasPrefix("/openai/") else {
            return try await next(request, context)
        }
        var context = context
        context.principal = try await RequestTrace.child("authenticate") { span throws(GatewayError) in
            let principal = try authenticate(request, path: path)
            span?.attributes["routershift.principal"] = principal.keyID
            return principal
        }
        return try await next(request, context)
    }

    /// Who presents the request's key: the master key, or a valid, unrevoked virtual key (not for `/admin`).
    private func authenticate(_ request: Request, path: String) throws(GatewayError) -> Principal {
        guard let secret = Self.presentedKey(request) else {
            throw GatewayError(
                .authentication, "Missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`.",
                code: "missing_api_key")
        }
        if let masterKey, Secrets.constantTimeEquals(secret, masterKey) { return .master }
        let hash = Secrets.sha256Hex(secret)
        guard let key = keys.key(hash: hash), Secrets.constantTimeEquals(key.hash, hash) else {
            throw GatewayError(.authentication, "Invalid API key.", code: "invalid_api_key")
        }
        guard !key.isRevoked else {
            throw GatewayError(.authentication, "This API key has been revoked.", code: "revoked_api_key")
        }
        if path.hasPrefix("/admin") {
            throw GatewayError(.permission, "The admin API needs the master key.", code: "admin_only")
        }
        return .key(key)
    }

    static func presentedKey(_ request: Request) -> String? {
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return String(parts[1]).trimmingCharacters(in: .whitespaces)
            }
        }
        if let key = request.headers[HTTPField.Name("x-api-key")!], !key.isEmpty { return key }
        if let key = request.headers[HTTPField.Name("x-goog-api-key")!], !key.isEmpty { return key }
        if let key = request.headers[HTTPField.Name("api-key")!], !key.isEmpty { return key }
        // Only Gemini's SDKs put the key in the URL; elsewhere a key in a URL (logged by every proxy on the
        // way) is not accepted.
        if ClientProtocol.forPath(request.uri.path) == .gemini, let key = request.uri.queryParameters.get("key"),
            !key.isEmpty
        {
            return key
        }
        return nil
    }
}
