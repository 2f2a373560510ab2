import Canonical

/// OpenAI's legacy text completions (`POST /v1/completions`) as a chat request, for deployments that only
/// serve chat: the prompt becomes one user turn, the answer's text the completion's. What has no chat
/// equivalent (`echo`, `suffix`, `best_of`, `logprobs`, a batch of prompts, token-array prompts) is refused
/// naming the parameter; groups that declare the `completions` endpoint are passed through instead.
package enum OpenAICompletions {
    /// The fields chat has no equivalent for.
    private static let untranslatable = ["echo", "suffix", "best_of", "logprobs", "logit_bias"]
    /// The legacy API's output limit when the client sets none.
    package static let defaultMaxTokens = 16

    /// A client's completion request as a chat request; every problem is a 400 naming the parameter.
    package static func request(_ body: JSONValue) throws(GatewayError) -> ChatRequest {
        let fields = try JSONFields(body)
        let model = try fields.requiredString("model")
        let prompt: String
        switch fields.value("prompt") {
        case .string(let text)?: prompt = text
        case .array(let items)? where items.count == 1 && items[0].string != nil: prompt = items[0].string!
        case nil: throw .invalid("`prompt` is required.", param: "prompt")
        default:
            throw .invalid(
                "`prompt` must be one string here: this model answers completions through chat, which takes one prompt "
                    + "a request (token arrays and batches of prompts are not translated).", param: "prompt")
        }
        for field in untranslatable where fields.value(field) != nil && fields.value(field) != .null {
            if field == "echo", fields.value(field) == false { continue }
            if field == "best_of", fields.value(field) == 1 { continue }
            throw .invalid(
                "`\(field)` is not supported: this model answers completions through chat, which has no equivalent.",
                param: field)
        }
        let streamOptions = try fields.fields("stream_options")
        let ranges = ClientProtocol.openAI.parameterRanges
        return ChatRequest(
            model: model, messages: [ChatMessage(role: .user, text: prompt)],
            temperature: try fields.number("temperature", in: ranges.temperature),
            topP: try fields.number("top_p", in: ranges.topP),
            maxTokens: try fields.int("max_tokens", atLeast: 1) ?? defaultMaxTokens, stop: try fields.strings("stop"),
            seed: try fields.integer("seed"), n: try fields.int("n", in: ranges.choices),
            presencePenalty: try fields.number("presence_penalty", in: ranges.penalty),
            frequencyPenalty: try fields.number("frequency_penalty", in: ranges.penalty),
            user: try fields.string("user"),
            stream: try fields.bool("stream") ?? false,
            includeUsage: try streamOptions?.bool("include_usage") ?? false)
    }

    /// A chat answer as a `text_completion`.
    package static func response(_ response: ChatResponse) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(completionID(response.id)), "object": "text_completion",
            "created": .integer(Int64(response.created)), "model": .string(response.model),
            "choices": .array(
                response.choices.map { choice in
                    [
                        "index": .integer(Int64(choice.index)), "text": .string(choice.message.text), "logprobs": .null,
                        "finish_reason": .string(finishReason(choice.finishReason)),
                    ]
                }),
        ]
        if let usage = response.usage { object["usage"] = OpenAIChatEncoding.usage(usage) }
        return .object(object)
    }

    /// Completions have `stop` and `length` only; a tool call cannot happen without tools.
    static func finishReason(_ reason: FinishReason?) -> String {
        reason == .length ? "length" : (reason == .contentFilter ? "content_filter" : "stop")
    }

    static func completionID(_ id: String) -> String { id.hasPrefix("cmpl-") ? id : "cmpl-" + id }
}

/// The legacy completions stream: `text_completion` chunks with the text deltas and the finish reason,
/// a usage chunk only when the client asked, then `data: [DONE]`.
package struct OpenAICompletionEventEncoder: ChatEventEncoder {
    package let includeUsage: Bool

    package init(includeUsage: Bool) {
        self.includeUsage = includeUsage
    }

    package mutating func encode(_ chunk: ChatChunk) -> [String] {
        var object: [String: JSONValue] = [
            "id": .string(OpenAICompletions.completionID(chunk.id)), "object": "text_completion",
            "created": .integer(Int64(chunk.created)), "model": .string(chunk.model),
        ]
        if chunk.choices.isEmpty {
            guard includeUsage, let usage = chunk.usage else { return [] }
            object["choices"] = []
            object["usage"] = OpenAIChatEncoding.usage(usage)
            return [Self.event(.object(object))]
        }
        let choices: [JSONValue] = chunk.choices.compactMap { choice in
            guard choice.finishReason != nil || !(choice.text ?? "").isEmpty else { return nil }
            return [
                "index": .integer(Int64(choice.index)), "text": .string(choice.text ?? ""), "logprobs": .null,
                "finish_reason": choice.finishReason.map { .string(OpenAICompletions.finishReason($0)) } ?? .null,
            ]
        }
        guard !choices.isEmpty else { return [] }
        object["choices"] = .array(choices)
        return [Self.event(.object(object))]
    }

    package mutating func finish() -> [String] { ["data: [DONE]\n\n"] }

    package mutating func fail(_ error: GatewayError) -> [String] { [Self.event(error.body(for: .openAI))] }
}

/// `/v1/completions` served through chat: the client side is the legacy completions API, the upstream
/// side OpenAI chat's (this codec is not registered in ``ChatCodecs``; no upstream speaks it through here).
package struct OpenAICompletionsCodec: ChatCodec {
    private let chat = OpenAIChatCodec()

    package init() {}

    package var wireProtocol: ClientProtocol { .openAI }
    package var routes: [ChatRoute] { [ChatRoute("/v1/completions")] }

    package func decodeRequest(_ body: JSONValue, route: ChatRoute, parameter: (String) -> String?) throws(GatewayError)
        -> ChatRequest
    {
        try OpenAICompletions.request(body)
    }

    package func endpoint(for request: ChatRequest) -> String { "/v1/completions" }
    package func encodeResponse(_ response: ChatResponse) -> JSONValue { OpenAICompletions.response(response) }

    package func eventEncoder(for request: ChatRequest) -> any ChatEventEncoder {
        OpenAICompletionEventEncoder(includeUsage: request.includeUsage)
    }

    package func upstreamRequest(_ request: ChatRequest, model: String) throws(UpstreamFailure) -> JSONValue {
        try chat.upstreamRequest(request, model: model)
    }

    package func upstreamPath(model: String, stream: Bool) -> String { chat.upstreamPath(model: model, stream: stream) }
    package func authorization(apiKey: String) -> (name: String, value: String) { chat.authorization(apiKey: apiKey) }

    package func upstreamResponse(_ body: JSONValue, publicModel: String) throws(UpstreamFailure) -> ChatResponse {
        try chat.upstreamResponse(body, publicModel: publicModel)
    }

    package func streamDecoder(publicModel: String) -> any ChatStreamDecoder {
        chat.streamDecoder(publicModel: publicModel)
    }
}
