/// The protocol a client speaks, which decides the shape of its errors and responses.
public enum ClientProtocol: String, Sendable, Hashable {
    case openAI = "openai"
    case anthropic
    case gemini
    /// OpenAI's Responses API (`/v1/responses`): OpenAI's error format, its own request and event shapes.
    case responses
}
