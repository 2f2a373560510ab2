import Canonical

/// Gemini's `generateContent` and `streamGenerateContent`, on the gateway's own paths
/// (`/v1/models/gemini/{model}/generateContent`) and on Gemini's (`/v1beta/models/{model}:generateContent`,
/// also under `/v1`), so the google-genai SDK works by changing only its base URL. Upstream:
/// `{base_url}/models/{model}:generateContent` (`:streamGenerateContent?alt=sse`) with `x-goog-api-key`.
package struct GeminiCodec: ChatCodec {
    package init() {}

    package var wireProtocol: ClientProtocol { .gemini }

    package var routes: [ChatRoute] {
        [
            ChatRoute("/v1/models/gemini/:model/generateContent", stream: false),
            ChatRoute("/v1/models/gemini/:model/streamGenerateContent", stream: true),
            ChatRoute("/v1beta/models/:action"), ChatRoute("/v1/models/:action"),
        ]
    }

    package func decodeRequest(_ body: JSONValue, route: ChatRoute, parameter: (String) -> String?) throws(GatewayError)
        -> ChatRequest
    {
        if let stream = route.stream {
            return try GeminiDecoding.request(body, model: parameter("model") ?? "", stream: stream)
        }
        let action = parameter("action") ?? ""
        let parts = action.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, ["generateContent", "streamGenerateContent"].contains(parts[1]) else {
            throw GatewayError(
                .notFound, "No route for POST \(route.path.replacingOccurrences(of: ":action", with: action)).",
                code: "not_found")
        }
        return try GeminiDecoding.request(body, model: String(parts[0]), stream: parts[1] == "streamGenerateContent")
    }

    package func endpoint(for request: ChatRequest) -> String {
        request.stream ? "streamGenerateContent" : "generateContent"
    }

    package func encodeResponse(_ response: ChatResponse) -> JSONValue { GeminiEncoding.response(response) }
    package func eventEncoder(for request: ChatRequest) -> any ChatEventEncoder { GeminiEventEncoder() }

    /// On Gemini's own paths, server-sent events with `alt=sse` and else Gemini's JSON array stream; on the
    /// gateway's paths (`/v1/models/gemini/...`), always server-sent events.
    package func eventEncoder(for request: ChatRequest, route: ChatRoute, query: (String) -> String?)
        -> any ChatEventEncoder
    {
        GeminiEventEncoder(isJSONArray: route.stream == nil && query("alt") != "sse")
    }

    package func upstreamRequest(_ request: ChatRequest, model: String) throws(UpstreamFailure) -> JSONValue {
        try GeminiEncoding.upstreamRequest(request)
    }

    package func upstreamPath(model: String, stream: Bool) -> String {
        stream ? "/models/\(model):streamGenerateContent?alt=sse" : "/models/\(model):generateContent"
    }

    package func authorization(apiKey: String) -> (name: String, value: String) { ("x-goog-api-key", apiKey) }

    package func upstreamResponse(_ body: JSONValue, publicModel: String) throws(UpstreamFailure) -> ChatResponse {
        try GeminiDecoding.response(body, publicModel: publicModel)
    }

    package func streamDecoder(publicModel: String) -> any ChatStreamDecoder {
        GeminiStreamDecoder(publicModel: publicModel)
    }
}
