/// A chat completion request in the gateway's one internal form: every protocol decodes into it, every
/// provider adapter encodes from it, and the cache derives its keys from it.
public struct ChatRequest: Sendable, Hashable {
    /// The public model (group) name the client asked for.
    public var model: String
    public var messages: [ChatMessage]
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var maxTokens: Int?
    public var stop: [String]?
    public var seed: Int64?
    /// Completions to generate; more than one skips the semantic cache.
    public var n: Int?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    /// OpenAI's `response_format`, e.g. `{"type": "json_object"}`.
    public var responseFormat: JSONValue?
    public var tools: [ToolDefinition]?
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?
    /// An end-user id for abuse monitoring; does not change the answer.
    public var user: String?
    public var stream: Bool
    /// Whether a stream ends with a usage chunk (OpenAI's `stream_options.include_usage`).
    public var includeUsage: Bool
    /// Top-level fields the gateway does not model, in the vocabulary of `origin`: passed on to upstreams
    /// of that protocol, refused with a 400 by the others.
    public var extra: [String: JSONValue]
    /// The protocol the request arrived in.
    public var origin: ClientProtocol
    /// Request headers of `origin`'s vocabulary that can change the answer (`anthropic-beta`), by lower-case
    /// name: passed on to upstreams of that protocol, and part of the cache scope.
    public var headers: [String: String] = [:]

    public init(
        model: String, messages: [ChatMessage], temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil,
        maxTokens: Int? = nil, stop: [String]? = nil, seed: Int64? = nil, n: Int? = nil, presencePenalty: Double? = nil,
        frequencyPenalty: Double? = nil, responseFormat: JSONValue? = nil, tools: [ToolDefinition]? = nil,
        toolChoice: ToolChoice? = nil, parallelToolCalls: Bool? = nil, user: String? = nil, stream: Bool = false,
        includeUsage: Bool = false, extra: [String: JSONValue] = [:], origin: ClientProtocol = .openAI
    ) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.maxTokens = maxTokens
        self.stop = stop
        self.seed = seed
        self.n = n
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.responseFormat = responseFormat
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.user = user
        self.stream = stream
        self.includeUsage = includeUsage
        self.extra = extra
        self.origin = origin
    }
}
