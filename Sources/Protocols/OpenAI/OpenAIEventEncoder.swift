import Canonical

/// OpenAI's chat stream: one `data:` event per chunk, `data: [DONE]` at the end; usage only when the client
/// asked for it with `stream_options.include_usage`.
package struct OpenAIEventEncoder: ChatEventEncoder {
    package let includeUsage: Bool

    package init(includeUsage: Bool) {
        self.includeUsage = includeUsage
    }

    package mutating func encode(_ chunk: ChatChunk) -> [String] {
        var chunk = chunk
        if !includeUsage {
            if chunk.choices.isEmpty { return [] }
            chunk.usage = nil
        }
        return [Self.event(OpenAIChatEncoding.chunk(chunk))]
    }

    package mutating func finish() -> [String] { ["data: [DONE]\n\n"] }

    package mutating func fail(_ error: GatewayError) -> [String] { [Self.event(error.body(for: .openAI))] }
}
