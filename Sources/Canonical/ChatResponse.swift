/// Why a choice ended.
public enum FinishReason: String, Sendable, Hashable {
    case stop
    case length
    case toolCalls = "tool_calls"
    case contentFilter = "content_filter"
}

/// Tokens a request consumed.
public struct Usage: Sendable, Hashable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Prompt tokens the provider served from its own prompt cache, where it reports them.
    public var cachedPromptTokens: Int?

    public init(promptTokens: Int, completionTokens: Int, cachedPromptTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedPromptTokens = cachedPromptTokens
    }

    public var totalTokens: Int { promptTokens + completionTokens }
}

/// One completion of a response.
public struct ChatChoice: Sendable, Hashable {
    public var index: Int
    public var message: ChatMessage
    public var finishReason: FinishReason?

    public init(index: Int, message: ChatMessage, finishReason: FinishReason?) {
        self.index = index
        self.message = message
        self.finishReason = finishReason
    }
}

/// A complete chat response in canonical form: what providers decode to, the cache stores, and every
/// protocol encodes for its client.
public struct ChatResponse: Sendable, Hashable {
    public var id: String
    /// The public model name.
    public var model: String
    /// Unix seconds.
    public var created: Int
    public var choices: [ChatChoice]
    public var usage: Usage?

    public init(id: String, model: String, created: Int, choices: [ChatChoice], usage: Usage?) {
        self.id = id
        self.model = model
        self.created = created
        self.choices = choices
        self.usage = usage
    }
}
