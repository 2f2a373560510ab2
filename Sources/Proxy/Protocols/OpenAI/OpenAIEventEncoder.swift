/// OpenAI's chat stream: one `data:` event per chunk, `data: [DONE]` at the end; usage only when the client
/// asked for it with `stream_options.include_usage`.
struct OpenAIEventEncoder: ChatEventEncoder {
    let includeUsage: Bool

    mutating func encode(_ chunk: ChatChunk) -> [String] {
        var chunk = chunk
        if !includeUsage {
            if chunk.choices.isEmpty { return [] }
            chunk.usage = nil
        }
        return [Self.event(OpenAIChatEncoding.chunk(chunk))]
    }

    mutating func finish() -> [String] { ["data: [DONE]\n\n"] }

    mutating func fail(_ error: GatewayError) -> [String] { [Self.event(error.body(for: .openAI))] }
}
