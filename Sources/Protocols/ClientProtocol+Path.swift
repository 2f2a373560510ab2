import Canonical

extension ClientProtocol {
    /// The protocol whose error format a path answers in.
    package static func forPath(_ path: String) -> ClientProtocol {
        if path.hasPrefix("/v1/messages") { return .anthropic }
        if path == "/v1/responses" || path.hasPrefix("/v1/responses/") { return .responses }
        if path.hasPrefix("/v1beta/") || path.hasPrefix("/v1/models/gemini/") || path.hasSuffix(":generateContent")
            || path.hasSuffix(":streamGenerateContent")
        {
            return .gemini
        }
        return .openAI
    }
}
