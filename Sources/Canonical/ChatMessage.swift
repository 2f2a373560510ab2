/// One turn of a conversation, independent of the protocol it arrived in.
public struct ChatMessage: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
        case system, user, assistant, tool
    }

    public var role: Role
    /// Text and images, in order; empty for an assistant turn that only calls tools.
    public var content: [ContentPart]
    public var name: String?
    /// Calls the assistant asked for, in order.
    public var toolCalls: [ToolCall]
    /// For a tool turn: the call it answers.
    public var toolCallID: String?
    /// Message fields the gateway does not model, passed on to OpenAI-compatible upstreams.
    public var extra: [String: JSONValue]

    public init(
        role: Role, content: [ContentPart], name: String? = nil, toolCalls: [ToolCall] = [], toolCallID: String? = nil,
        extra: [String: JSONValue] = [:]
    ) {
        self.role = role
        self.content = content
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.extra = extra
    }

    public init(role: Role, text: String) {
        self.init(role: role, content: [.text(text)])
    }

    /// The text parts joined, images left out.
    public var text: String {
        content.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: "\n")
    }
}

/// A piece of message content.
public enum ContentPart: Sendable, Hashable {
    case text(String)
    case image(ImageSource)
    /// A part the gateway does not model (audio, files, ...), kept verbatim for OpenAI-compatible upstreams;
    /// other protocols refuse it with a 400.
    case other(JSONValue)
}

/// An image given by URL (http(s) or a `data:` URL) or inline base64 data.
public struct ImageSource: Sendable, Hashable {
    public var url: String?
    public var base64: String?
    public var mediaType: String?
    /// OpenAI's "low" / "high" / "auto".
    public var detail: String?

    public init(url: String? = nil, base64: String? = nil, mediaType: String? = nil, detail: String? = nil) {
        self.url = url
        self.base64 = base64
        self.mediaType = mediaType
        self.detail = detail
    }

    /// Inline data, from `base64` or decoded from a `data:` URL.
    public var inlineData: (mediaType: String, base64: String)? {
        if let base64 { return (mediaType ?? "image/png", base64) }
        guard let url, url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return nil }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
        guard header.hasSuffix(";base64") else { return nil }
        return (String(header.dropLast(7)), String(url[url.index(after: comma)...]))
    }

    /// A URL for this image: the given one, or a `data:` URL built from inline data.
    public var asURL: String {
        if let url { return url }
        return "data:\(mediaType ?? "image/png");base64,\(base64 ?? "")"
    }
}

/// A function the model may call.
public struct ToolDefinition: Sendable, Hashable {
    public var name: String
    public var description: String?
    /// JSON Schema of the arguments.
    public var parameters: JSONValue?
    public var strict: Bool?

    public init(name: String, description: String? = nil, parameters: JSONValue? = nil, strict: Bool? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
    }
}

/// A call the assistant made.
public struct ToolCall: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The arguments as JSON text, as OpenAI carries them.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// How the model may use tools.
public enum ToolChoice: Sendable, Hashable {
    case auto
    case none
    /// Must call some tool.
    case required
    /// Must call this tool.
    case function(String)
}
