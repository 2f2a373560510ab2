import Canonical

/// Checks that a canonical request can be expressed in a target protocol, refusing with a 400 what the
/// target would have to drop silently.
package enum Translation {
    /// Fields of other protocols' vocabularies, and features the target lacks.
    package static func check(_ request: ChatRequest, for target: ClientProtocol, unsupported: [(String, Bool)])
        throws(UpstreamFailure)
    {
        if request.origin != target, let field = request.extra.keys.sorted().first {
            throw .unsupported(
                "The parameter `\(field)` has no equivalent for this model's \(target.displayName) deployment; remove it or "
                    + "use a model served by a \(request.origin.displayName) deployment.")
        }
        for message in request.messages where request.origin != target {
            if let field = message.extra.keys.sorted().first {
                throw .unsupported(
                    "The message field `\(field)` has no equivalent for a \(target.displayName) deployment.")
            }
        }
        if let (name, _) = unsupported.first(where: { $0.1 }) {
            throw .unsupported("`\(name)` is not supported by this model's \(target.displayName) deployment.")
        }
        for message in request.messages where request.origin != target {
            for part in message.content {
                if case .other(let raw) = part {
                    throw .unsupported(
                        "The content part of type `\(raw["type"]?.string ?? "unknown")` is not supported by a \(target.displayName) deployment."
                    )
                }
            }
        }
    }
}

extension ClientProtocol {
    package var displayName: String {
        switch self {
        case .openAI: "OpenAI"
        case .anthropic: "Anthropic"
        case .gemini: "Gemini"
        case .responses: "OpenAI Responses"
        }
    }
}
