import Canonical

/// OpenAI's Responses API (`POST /v1/responses`). Upstream, a Responses request goes as it came to OpenAI
/// deployments that declare `responses: native` (this codec's upstream side), and is translated like any
/// other for the rest: to chat completions, Messages or Gemini by those deployments' codecs.
///
/// The generic chat route serves this codec through ``ResponsesRequest``, which keeps what the
/// Responses API stores between calls; the methods below without a request's echo give a response at
/// OpenAI's defaults.
package struct ResponsesCodec: ChatCodec {
    package init() {}

    package var wireProtocol: ClientProtocol { .responses }
    package var routes: [ChatRoute] { [ChatRoute("/v1/responses")] }

    package func decodeRequest(_ body: JSONValue, route: ChatRoute, parameter: (String) -> String?) throws(GatewayError)
        -> ChatRequest
    {
        try ResponsesDecoding.request(body).chat
    }

    package func endpoint(for request: ChatRequest) -> String { "/v1/responses" }

    package func encodeResponse(_ response: ChatResponse) -> JSONValue {
        ResponsesEncoding.response(
            response, id: ResponsesIdentifiers.responseID(),
            request: ResponsesRequest(chat: ChatRequest(model: response.model, messages: []), hasInstructions: false))
    }

    package func eventEncoder(for request: ChatRequest) -> any ChatEventEncoder {
        ResponsesEventEncoder(
            id: ResponsesIdentifiers.responseID(), request: ResponsesRequest(chat: request, hasInstructions: false))
    }

    // MARK: - Upstream side: the Responses API itself (`responses: native`)

    package func upstreamRequest(_ request: ChatRequest, model: String) throws(UpstreamFailure) -> JSONValue {
        try ResponsesUpstream.request(request, model: model)
    }

    package func upstreamPath(model: String, stream: Bool) -> String { "/responses" }

    package func authorization(apiKey: String) -> (name: String, value: String) {
        ("Authorization", "Bearer \(apiKey)")
    }

    package func upstreamResponse(_ body: JSONValue, publicModel: String) throws(UpstreamFailure) -> ChatResponse {
        try ResponsesUpstream.response(body, publicModel: publicModel)
    }

    package func streamDecoder(publicModel: String) -> any ChatStreamDecoder {
        ResponsesStreamDecoder(publicModel: publicModel)
    }
}
