/// Rebuilds the complete response from a stream of chunks, as they pass: for the cache, which stores a
/// stream only once it completed normally, and for the request log's token counts.
///
/// Keeps at most `maxRetainedBytes` of content (text, tool calls, choices): past that it drops what it
/// held and only counts, so an endless stream costs no memory; such a stream never completes.
public struct ChatStreamAccumulator: Sendable {
    private struct Partial {
        var role: ChatMessage.Role = .assistant
        var text = ""
        var toolCalls: [Int: ToolCall] = [:]
        var finishReason: FinishReason?
    }

    private var id = ""
    /// The model the stream's chunks name.
    public private(set) var model = ""
    /// Why each choice ended, by choice index, whether or not its content is retained.
    public private(set) var finishReasons: [Int: FinishReason] = [:]
    private var created = 0
    private var choices: [Int: Partial] = [:]
    public private(set) var usage: Usage?
    /// Characters of text received so far, for estimating tokens when an upstream reports no usage.
    public private(set) var textLength = 0
    public let maxRetainedBytes: Int
    /// Bytes of content held; a choice or a tool call counts as `entryBytes` besides its text.
    private var retainedBytes = 0
    /// Whether the content passed `maxRetainedBytes` and was dropped.
    public private(set) var overflowed = false
    private static let entryBytes = 64

    /// - Parameter maxRetainedBytes: the content kept to rebuild the response; 0 when only counts matter
    ///   (the cache will not store it).
    public init(maxRetainedBytes: Int = 4 << 20) {
        self.maxRetainedBytes = maxRetainedBytes
    }

    public mutating func add(_ chunk: ChatChunk) {
        if id.isEmpty {
            id = chunk.id
            model = chunk.model
            created = chunk.created
        }
        if let usage = chunk.usage { self.usage = usage }
        for choice in chunk.choices {
            textLength += choice.text?.count ?? 0
            if let reason = choice.finishReason { finishReasons[choice.index] = reason }
        }
        guard !overflowed else { return }
        for choice in chunk.choices {
            if choices[choice.index] == nil { retainedBytes += Self.entryBytes }
            retainedBytes += choice.text?.utf8.count ?? 0
            for delta in choice.toolCalls {
                retainedBytes += Self.entryBytes + (delta.id?.utf8.count ?? 0)
                retainedBytes += (delta.name?.utf8.count ?? 0) + (delta.arguments?.utf8.count ?? 0)
            }
        }
        guard retainedBytes <= maxRetainedBytes else {
            overflowed = true
            choices = [:]
            return
        }
        for choice in chunk.choices {
            var partial = choices[choice.index] ?? Partial()
            if let role = choice.role { partial.role = role }
            if let text = choice.text { partial.text += text }
            for delta in choice.toolCalls {
                var call = partial.toolCalls[delta.index] ?? ToolCall(id: "", name: "", arguments: "")
                if let id = delta.id { call.id = id }
                if let name = delta.name { call.name += name }
                if let arguments = delta.arguments { call.arguments += arguments }
                partial.toolCalls[delta.index] = call
            }
            if let reason = choice.finishReason { partial.finishReason = reason }
            choices[choice.index] = partial
        }
    }

    /// Whether every choice has finished: a stream cut short, or too long to keep, never completes.
    public var isComplete: Bool {
        !overflowed && !choices.isEmpty && choices.values.allSatisfy { $0.finishReason != nil }
    }

    public var response: ChatResponse {
        ChatResponse(
            id: id, model: model, created: created,
            choices: choices.keys.sorted().map { index in
                let partial = choices[index]!
                let calls = partial.toolCalls.keys.sorted().map { partial.toolCalls[$0]! }
                return ChatChoice(
                    index: index,
                    message: ChatMessage(
                        role: partial.role, content: partial.text.isEmpty ? [] : [.text(partial.text)], toolCalls: calls
                    ),
                    finishReason: partial.finishReason)
            },
            usage: usage)
    }
}

extension ChatResponse {
    /// The response as a stream: per choice, a role chunk, the text, each tool call, then the finish; and a
    /// usage chunk at the end when `includeUsage`. How a cached answer is replayed to a streaming client.
    public func chunks(includeUsage: Bool) -> [ChatChunk] {
        var chunks: [ChatChunk] = []
        func chunk(_ choice: ChunkChoice) -> ChatChunk {
            ChatChunk(id: id, model: model, created: created, choices: [choice])
        }
        for choice in choices {
            chunks.append(chunk(ChunkChoice(index: choice.index, role: .assistant, text: "")))
            let text = choice.message.text
            if !text.isEmpty { chunks.append(chunk(ChunkChoice(index: choice.index, text: text))) }
            for (position, call) in choice.message.toolCalls.enumerated() {
                chunks.append(
                    chunk(
                        ChunkChoice(
                            index: choice.index,
                            toolCalls: [
                                ToolCallDelta(index: position, id: call.id, name: call.name, arguments: call.arguments)
                            ])))
            }
            chunks.append(chunk(ChunkChoice(index: choice.index, finishReason: choice.finishReason ?? .stop)))
        }
        if !chunks.isEmpty { chunks[0].promptTokens = usage?.promptTokens }
        if includeUsage, let usage {
            chunks.append(ChatChunk(id: id, model: model, created: created, choices: [], usage: usage))
        }
        return chunks
    }
}
