import Canonical

/// What a canonical request loses in a target protocol: every parameter that has an equivalent is mapped by
/// the target's encoder; the ones without (``gaps(_:for:)``), and values outside the target's
/// ``ParameterRanges``, are refused with a 400 naming them, or dropped (clamped, for a value out of range) and
/// reported, by the model group's ``Policy``. Nothing is changed silently.
package enum Translation {
    /// What the gateway does with a parameter a deployment's protocol cannot express.
    package enum Policy: String, Sendable, CaseIterable {
        /// A 400 naming the parameter (the default).
        case refuse
        /// The parameter is left out (a value out of range: moved to the nearest end of the target's range)
        /// and named in `x-routershift-dropped-params`.
        case drop
    }

    /// A parameter the target cannot express, named as the client spelt it.
    package struct Gap: Sendable, Equatable {
        package var param: String
        package var message: String
    }

    /// Unmodelled fields of an origin's vocabulary that are mapped to canonical ones, so never a gap: OpenAI's
    /// `max_completion_tokens` is `maxTokens`, kept verbatim only for OpenAI upstreams (reasoning models
    /// require that spelling).
    package static let mappedExtraFields: [ClientProtocol: Set<String>] = [.openAI: ["max_completion_tokens"]]

    /// Every parameter of `request` that `target` has no equivalent for, in a stable order.
    package static func gaps(_ request: ChatRequest, for target: ClientProtocol) -> [Gap] {
        var gaps: [Gap] = []
        let crossing = request.origin != target
        if crossing {
            let mapped = mappedExtraFields[request.origin] ?? []
            for field in request.extra.keys.sorted() where !mapped.contains(field) {
                gaps.append(Gap(param: field, message: extraMessage(field, request: request, target: target)))
            }
        }
        for (name, present) in unsupportedParameters(request, for: target) where present {
            let param = spelling(name, in: request.origin)
            gaps.append(
                Gap(
                    param: param,
                    message: "`\(param)` is not supported by this model's \(target.displayName) deployment."))
        }
        guard crossing else { return gaps }
        for parameter in OutOfRange.parameters(of: request, for: target) {
            let param = spelling(parameter.name, in: request.origin)
            gaps.append(
                Gap(
                    param: param,
                    message:
                        "`\(param)` must be between \(parameter.range.lowerBound) and \(parameter.range.upperBound) "
                        + "for this model's \(target.displayName) deployment, not \(parameter.value)."))
        }
        for (index, message) in request.messages.enumerated() {
            for field in message.extra.keys.sorted() {
                gaps.append(
                    Gap(
                        param: "messages[\(index)].\(field)",
                        message:
                            "The message field `\(field)` has no equivalent for a \(target.displayName) deployment."
                    ))
            }
            for (offset, part) in message.content.enumerated() {
                if case .other(let raw) = part {
                    gaps.append(
                        Gap(
                            param: "messages[\(index)].content[\(offset)]",
                            message:
                                "The content part of type `\(raw["type"]?.string ?? "unknown")` is not supported by a \(target.displayName) deployment."
                        ))
                }
            }
        }
        return gaps
    }

    /// Refuses the first gap.
    ///
    /// - Throws: ``UpstreamFailure/unsupported(_:param:)`` naming the parameter.
    package static func check(_ request: ChatRequest, for target: ClientProtocol) throws(UpstreamFailure) {
        if let gap = gaps(request, for: target).first { throw .unsupported(gap.message, param: gap.param) }
    }

    /// The request without the parameters `target` cannot express, and their names; with `.refuse`, the
    /// request unchanged (the encoder then refuses).
    package static func applying(_ policy: Policy, to request: ChatRequest, for target: ClientProtocol)
        -> (request: ChatRequest, dropped: [String])
    {
        guard policy == .drop else { return (request, []) }
        let found = gaps(request, for: target)
        guard !found.isEmpty else { return (request, []) }
        var request = request
        if request.origin != target {
            for parameter in OutOfRange.parameters(of: request, for: target) { parameter.clamp(&request) }
            let mapped = mappedExtraFields[request.origin] ?? []
            request.extra = request.extra.filter { mapped.contains($0.key) }
            for index in request.messages.indices {
                request.messages[index].extra = [:]
                request.messages[index].content.removeAll {
                    if case .other = $0 { return true }
                    return false
                }
            }
        }
        for (name, present) in unsupportedParameters(request, for: target) where present {
            switch name {
            case "n": request.n = nil
            case "seed": request.seed = nil
            case "presence_penalty": request.presencePenalty = nil
            case "frequency_penalty": request.frequencyPenalty = nil
            case "parallel_tool_calls": request.parallelToolCalls = nil
            case "stop": request.stop = nil
            case "top_k": request.topK = nil
            default: break
            }
        }
        return (request, found.map(\.param))
    }

    /// Canonical parameters `target` has no field for, by their OpenAI name, and whether `request` uses them.
    private static func unsupportedParameters(_ request: ChatRequest, for target: ClientProtocol) -> [(String, Bool)] {
        switch target {
        case .openAI:
            []
        case .anthropic:
            [
                ("n", (request.n ?? 1) > 1), ("seed", request.seed != nil),
                ("presence_penalty", request.presencePenalty != nil),
                ("frequency_penalty", request.frequencyPenalty != nil),
            ]
        case .gemini:
            [("parallel_tool_calls", request.parallelToolCalls == false)]
        case .responses:
            [
                ("stop", request.stop != nil), ("top_k", request.topK != nil), ("seed", request.seed != nil),
                ("n", (request.n ?? 1) > 1), ("presence_penalty", request.presencePenalty != nil),
                ("frequency_penalty", request.frequencyPenalty != nil),
            ]
        }
    }

    /// A canonical parameter's name in the client's vocabulary (`generationConfig.seed` for Gemini).
    private static func spelling(_ name: String, in origin: ClientProtocol) -> String {
        switch (origin, name) {
        case (.gemini, "n"): "generationConfig.candidateCount"
        case (.gemini, "temperature"): "generationConfig.temperature"
        case (.gemini, "top_p"): "generationConfig.topP"
        case (.gemini, "seed"): "generationConfig.seed"
        case (.gemini, "presence_penalty"): "generationConfig.presencePenalty"
        case (.gemini, "frequency_penalty"): "generationConfig.frequencyPenalty"
        case (.anthropic, "parallel_tool_calls"): "tool_choice.disable_parallel_tool_use"
        default: name
        }
    }

    private static func extraMessage(_ field: String, request: ChatRequest, target: ClientProtocol) -> String {
        if field == "tools", let tools = request.extra["tools"]?.array {
            let names = tools.map { $0["type"]?.string ?? $0.object?.keys.sorted().first ?? "unknown" }
            return "The \(request.origin.displayName) server tool `\(names.joined(separator: "`, `"))` runs on "
                + "\(request.origin.displayName)'s side and has no equivalent on this model's \(target.displayName) "
                + "deployment; remove it or use a model served by a \(request.origin.displayName) deployment."
        }
        return
            "The parameter `\(field)` has no equivalent for this model's \(target.displayName) deployment; remove it or "
            + "use a model served by a \(request.origin.displayName) deployment."
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
