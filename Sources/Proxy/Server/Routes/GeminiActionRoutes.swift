import Hummingbird

/// Gemini's model actions besides generating (`POST /v1beta/models/{model}:{action}`, which share the
/// chat route's pattern): `countTokens` (``TokenCountRoutes``), and `embedContent` and
/// `batchEmbedContents`, routed to the model's embedding deployments as `/v1/embeddings` is, and answered
/// in Gemini's shape (`{"embedding":{"values":[...]}}`, `{"embeddings":[...]}`).
struct GeminiActionRoutes {
    let gateway: Gateway

    /// The answer to `action` (`gemini-embedding-001:embedContent`), or nil for the generating actions,
    /// which the chat route serves.
    func respond(to action: String, body: JSONValue, context: GatewayContext) async throws -> Response? {
        let parts = action.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let model = String(parts[0])
        switch parts[1] {
        case "countTokens":
            return try TokenCountRoutes(gateway: gateway).geminiCount(body, model: model, context: context)
        case "embedContent":
            let (text, dimensions) = try Self.embeddingInput(body, path: "")
            let answer = try await embed([text], model: model, dimensions: dimensions, context: context)
            return jsonResponse(["embedding": answer.first ?? ["values": []]])
        case "batchEmbedContents":
            guard let requests = body["requests"]?.array, !requests.isEmpty else {
                throw GatewayError.invalid("`requests` must be a non-empty array.", param: "requests")
            }
            var texts: [String] = []
            var dimensions: Int?
            for (index, request) in requests.enumerated() {
                let (text, size) = try Self.embeddingInput(request, path: "requests[\(index)].")
                texts.append(text)
                dimensions = dimensions ?? size
            }
            let answer = try await embed(texts, model: model, dimensions: dimensions, context: context)
            return jsonResponse(["embeddings": .array(answer)])
        default:
            return nil
        }
    }

    /// The text of an embedContent request's `content` (its text parts joined) and its
    /// `outputDimensionality`.
    private static func embeddingInput(_ body: JSONValue, path: String) throws(GatewayError) -> (String, Int?) {
        let fields = try JSONFields(body, path: String(path.dropLast()))
        guard let content = try fields.fields("content") else {
            throw .invalid("`\(path)content` is required.", param: "\(path)content")
        }
        let texts = (try content.array("parts") ?? []).compactMap { $0["text"]?.string }
        guard !texts.isEmpty else {
            throw .invalid("`\(path)content.parts` must hold at least one text part.", param: "\(path)content.parts")
        }
        return (texts.joined(separator: "\n"), try fields.int("outputDimensionality", atLeast: 1))
    }

    /// The embeddings of `texts` from the model's embedding deployments, as Gemini `ContentEmbedding`s.
    private func embed(_ texts: [String], model: String, dimensions: Int?, context: GatewayContext) async throws
        -> [JSONValue]
    {
        var request: [String: JSONValue] = ["model": .string(model), "input": .array(texts.map(JSONValue.string))]
        if let dimensions { request["dimensions"] = .integer(Int64(dimensions)) }
        let (answer, _) = try await gateway.passthrough.jsonAnswer(
            .object(request), endpoint: .embeddings, path: "/embeddings", model: model, principal: context.principal!,
            channel: context.channel)
        guard let data = answer["data"]?.array, data.count == texts.count else {
            throw GatewayError(.upstreamFailed, "The embedding upstream answered without one embedding per input.")
        }
        let ordered = data.enumerated().sorted {
            ($0.element["index"]?.integer ?? Int64($0.offset)) < ($1.element["index"]?.integer ?? Int64($1.offset))
        }
        return ordered.map { ["values": $0.element["embedding"] ?? []] }
    }
}
