/// A piece of a streamed response in canonical form, shaped like an OpenAI chunk: the other protocols'
/// event sequences are derived from a series of these.
public struct ChatChunk: Sendable, Hashable {
    public var id: String
    public var model: String
    public var created: Int
    public var choices: [ChunkChoice]
    /// Set on the final usage chunk.
    public var usage: Usage?
    /// The prompt's tokens when they are known as the stream starts (an Anthropic upstream's
    /// `message_start`, a cached answer), for protocols that report them first; the final `usage` still
    /// carries the full count.
    public var promptTokens: Int?

    public init(
        id: String, model: String, created: Int, choices: [ChunkChoice], usage: Usage? = nil, promptTokens: Int? = nil
    ) {
        self.id = id
        self.model = model
        self.created = created
        self.choices = choices
        self.usage = usage
        self.promptTokens = promptTokens
    }
}

public struct ChunkChoice: Sendable, Hashable {
    public var index: Int
    public var role: ChatMessage.Role?
    public var text: String?
    public var toolCalls: [ToolCallDelta]
    public var finishReason: FinishReason?

    public init(
        index: Int, role: ChatMessage.Role? = nil, text: String? = nil, toolCalls: [ToolCallDelta] = [],
        finishReason: FinishReason? = nil
    ) {
        self.index = index
        self.role = role
        self.text = text
        self.toolCalls = toolCalls
        self.finishReason = finishReason
    }
}

/// Part of a tool call: the first delta of a call carries its id and name, later ones more arguments.
public struct ToolCallDelta: Sendable, Hashable {
    public var index: Int
    public var id: String?
    public var name: String?
    public var arguments: String?

    public init(index: Int, id: String? = nil, name: String? = nil, arguments: String? = nil) {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}
