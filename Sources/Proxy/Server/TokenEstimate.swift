import HTTPTypes

/// The gateway's own count of a prompt's tokens, for `count_tokens`/`countTokens` when no upstream counts
/// them: about four characters a token over every text, tool call, tool schema and system prompt, plus a
/// few tokens of framing per message. Real tokenizers differ: within about ±25% of it on English prose,
/// further on code, non-Latin scripts and images (counted as a flat 85 tokens each, OpenAI's low-detail
/// price). Answers carry `x-routershift-token-count: estimate`. Costs one pass over the request's text.
enum TokenEstimate {
    static let header = HTTPField.Name("x-routershift-token-count")!
    private static let framingPerMessage = 3
    private static let perImage = 85

    static func promptTokens(_ request: ChatRequest) -> Int {
        var characters = 0
        var images = 0
        for message in request.messages {
            for part in message.content {
                switch part {
                case .text(let text): characters += text.count
                case .image: images += 1
                case .other(let raw): characters += raw.jsonString.count
                }
            }
            for call in message.toolCalls { characters += call.name.count + call.arguments.count }
        }
        for tool in request.tools ?? [] {
            characters += tool.name.count + (tool.description?.count ?? 0) + (tool.parameters?.jsonString.count ?? 0)
        }
        let framing = framingPerMessage * request.messages.count
        return max(1, (characters + 3) / 4 + framing + perImage * images)
    }
}
