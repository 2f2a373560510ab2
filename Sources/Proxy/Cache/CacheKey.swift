import Foundation

/// What the cache keys a request on.
///
/// - `scope`: a hard filter, never a similarity: the tenant (key, team or everyone), the public model, the
///   parameters that change the answer, and everything in the conversation before the embedded turns. Two
///   requests can only ever share an answer if their scopes are equal.
/// - `exact`: the scope plus the embedded turns themselves, byte for byte (canonical JSON, sorted keys).
/// - `prompt`: the text that is embedded, or nil when the request skips the semantic layer.
struct CacheKey: Sendable, Equatable {
    let scope: String
    let exact: String
    let prompt: String?
    let tenant: String

    /// Why a request skips the semantic layer (the exact layer still applies).
    enum SemanticSkip: String, Sendable {
        case disabled, multipleChoices, temperature, longConversation, notUserTurn, images
    }

    let semanticSkip: SemanticSkip?

    init(request: ChatRequest, tenant: String, settings: GatewayConfiguration.Cache, semanticEnabled: Bool) {
        self.tenant = tenant
        let turns = Self.embeddedTurns(request.messages, count: settings.embedTurns)
        let context = Array(request.messages.dropLast(turns.count))
        var parameters: [String: JSONValue] = request.extra
        func set(_ key: String, _ value: JSONValue?) { if let value { parameters[key] = value } }
        set("temperature", request.temperature.map(JSONValue.number))
        set("top_p", request.topP.map(JSONValue.number))
        set("top_k", request.topK.map { .integer(Int64($0)) })
        set("max_tokens", request.maxTokens.map { .integer(Int64($0)) })
        set("stop", request.stop.map { .array($0.map(JSONValue.string)) })
        set("seed", request.seed.map(JSONValue.integer))
        set("n", request.n.map { .integer(Int64($0)) })
        set("presence_penalty", request.presencePenalty.map(JSONValue.number))
        set("frequency_penalty", request.frequencyPenalty.map(JSONValue.number))
        set("response_format", request.responseFormat)
        set("tools", request.tools.map { Self.json($0) })
        set("tool_choice", request.toolChoice.map { Self.json($0) })
        set("parallel_tool_calls", request.parallelToolCalls.map(JSONValue.bool))
        let scopeMaterial = [
            tenant, request.model, Self.canonical(.object(parameters)), Self.canonical(Self.json(context)),
        ]
        scope = Secrets.sha256Hex(scopeMaterial.joined(separator: "\u{1F}"))
        exact = Secrets.sha256Hex(scope + "\u{1F}" + Self.canonical(Self.json(turns)))

        if !semanticEnabled {
            semanticSkip = .disabled
        } else if (request.n ?? 1) > 1 {
            semanticSkip = .multipleChoices
        } else if let temperature = request.temperature, temperature > settings.maxTemperature {
            semanticSkip = .temperature
        } else if request.messages.filter({ $0.role != .system }).count > settings.maxTurns {
            semanticSkip = .longConversation
        } else if turns.isEmpty || turns.contains(where: { $0.role != .user }) {
            semanticSkip = .notUserTurn
        } else if turns.contains(where: { $0.content.contains { if case .text = $0 { false } else { true } } }) {
            semanticSkip = .images
        } else {
            semanticSkip = nil
        }
        prompt = semanticSkip == nil ? turns.map(\.text).joined(separator: "\n") : nil
    }

    /// The last `count` user turns and whatever follows the first of them.
    static func embeddedTurns(_ messages: [ChatMessage], count: Int) -> [ChatMessage] {
        var remaining = count
        var start = messages.count
        for index in messages.indices.reversed() {
            if messages[index].role == .system { break }
            start = index
            if messages[index].role == .user {
                remaining -= 1
                if remaining == 0 { break }
            }
        }
        return Array(messages[start...])
    }

    static func canonical(_ value: JSONValue) -> String {
        String(decoding: value.serialized(sortedKeys: true), as: UTF8.self)
    }

    static func json(_ value: some Encodable) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value), let json = try? JSONValue.parse(data) else { return .null }
        return json
    }
}
