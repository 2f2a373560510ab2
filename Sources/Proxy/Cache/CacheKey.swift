import Foundation
import RouterShiftConfiguration

/// What the cache keys a request on.
///
/// - `scope`: a hard filter, never a similarity: the tenant (key, team or everyone), the public model, the
///   parameters that change the answer, and everything in the conversation before the embedded turns. Two
///   requests can only ever share an answer if their scopes are equal.
/// - `exact`: the scope plus the embedded turns themselves, byte for byte.
/// - `prompt`: the text that is embedded, or nil when the request skips the semantic layer.
///
/// Both hashes are taken over the canonical JSON form (`docs/canonical-json.md`) with sorted keys, after
/// normalising what does not change the answer: the protocol the request arrived in, streaming, `user`
/// and the unmodelled fields in ``answerNeutralFields``; leading system messages become one text message,
/// so a chat system prompt, an Anthropic `system` and (later) a Responses `instructions` key alike.
struct CacheKey: Sendable, Equatable {
    let scope: String
    let exact: String
    let prompt: String?
    let tenant: String

    /// The key derivation's version, stored with each entry (`cache_entry.key_form`): entries keyed by an
    /// older derivation are keyed again when the cache opens.
    static let form = 1
    /// Marks an entry whose stored request could not be read: dropped when the cache opens.
    static let unreadableForm = -1

    /// Unmodelled request fields that never change the answer, left out of the scope.
    static let answerNeutralFields: Set<String> = [
        "metadata", "store", "service_tier", "safety_identifier", "prompt_cache_key", "prompt_cache_retention",
        "labels", "user", "stream", "stream_options",
    ]

    /// Why a request skips the semantic layer (the exact layer still applies).
    enum SemanticSkip: String, Sendable {
        case disabled, multipleChoices, temperature, longConversation, notUserTurn, images
    }

    let semanticSkip: SemanticSkip?

    init(request: ChatRequest, tenant: String, settings: GatewayConfiguration.Cache, semanticEnabled: Bool) {
        self.tenant = tenant
        let messages = Self.mergingLeadingSystemMessages(request.messages)
        let turns = Self.embeddedTurns(messages, count: settings.embedTurns)
        let context = Array(messages.dropLast(turns.count))
        let scopeMaterial = [
            tenant, request.model, Self.canonical(Self.parameters(request)),
            Self.canonical(.array(context.map(\.canonicalJSON))),
        ]
        scope = Secrets.sha256Hex(scopeMaterial.joined(separator: "\u{1F}"))
        exact = Secrets.sha256Hex(scope + "\u{1F}" + Self.canonical(.array(turns.map(\.canonicalJSON))))

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

    /// The request's canonical JSON without its messages, model, origin and answer-neutral fields.
    static func parameters(_ request: ChatRequest) -> JSONValue {
        var object = request.canonicalJSON.object ?? [:]
        for field in ["model", "messages", "origin", "extra"] { object[field] = nil }
        for field in answerNeutralFields { object[field] = nil }
        let extra = request.extra.filter { !answerNeutralFields.contains($0.key) }
        if !extra.isEmpty { object["extra"] = .object(extra) }
        return .object(object)
    }

    /// The system messages before the first other turn as one message of their text parts joined by
    /// newlines, when they hold only text.
    static func mergingLeadingSystemMessages(_ messages: [ChatMessage]) -> [ChatMessage] {
        let leading = messages.prefix { $0.role == .system }
        guard !leading.isEmpty,
            leading.allSatisfy({ message in
                message.extra.isEmpty && message.name == nil
                    && message.content.allSatisfy { if case .text = $0 { true } else { false } }
            })
        else { return messages }
        let text = leading.map(\.text).joined(separator: "\n")
        return [ChatMessage(role: .system, text: text)] + messages.dropFirst(leading.count)
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
}
