import Canonical

/// A `POST /v1/responses` request: the canonical chat request it asks for, and what the Responses API
/// keeps beside it (the stored conversation it continues, whether to store this one, the parameters a
/// response object repeats).
package struct ResponsesRequest: Sendable {
    package var chat: ChatRequest
    /// Whether `chat.messages` opens with the system message made from `instructions`, which a continued
    /// conversation does not carry over (as OpenAI: a new request's instructions replace the old ones).
    package var hasInstructions: Bool
    /// The stored response this one continues.
    package var previousResponseID: String?
    /// Whether the response is stored for `GET /v1/responses/{id}` and `previous_response_id` (default true).
    package var store: Bool
    /// The request's parameters as every response object repeats them (`instructions`, `tools`, `text`,
    /// `temperature`, ...), as sent or at OpenAI's defaults.
    package var echo: [String: JSONValue]

    package init(
        chat: ChatRequest, hasInstructions: Bool, previousResponseID: String? = nil, store: Bool = true,
        echo: [String: JSONValue] = ResponsesDecoding.echo([:])
    ) {
        self.chat = chat
        self.hasInstructions = hasInstructions
        self.previousResponseID = previousResponseID
        self.store = store
        self.echo = echo
    }

    /// The turns this request adds to a conversation: its messages without the instructions.
    package var inputMessages: [ChatMessage] {
        Array(chat.messages.dropFirst(hasInstructions ? 1 : 0))
    }

    /// Puts a stored conversation (an earlier request's input and its output) before this request's input,
    /// after its instructions.
    package mutating func continueConversation(_ conversation: [ChatMessage]) {
        let instructions = chat.messages.prefix(hasInstructions ? 1 : 0)
        chat.messages = Array(instructions) + conversation + inputMessages
    }

    /// The conversation to store once `output` answered this request: its input and the answer.
    package func conversation(answeredBy output: ChatMessage) -> [ChatMessage] {
        inputMessages + [output]
    }
}
