import Canonical

/// The values each protocol accepts for the sampling parameters, as its provider documents them, declared
/// once: a client's request is decoded against its own protocol's ranges, and a request crossing to another
/// protocol is checked against the target's by ``Translation/gaps(_:for:)`` (an OpenAI `temperature` of
/// 1.5 is fine for OpenAI and out of range for Anthropic, which takes 0 to 1).
package struct ParameterRanges: Sendable {
    package var temperature: ClosedRange<Double>
    package var topP: ClosedRange<Double>
    /// `presence_penalty` and `frequency_penalty`, for the protocols that have them.
    package var penalty: ClosedRange<Double>?
    /// How many choices one request may ask for (`n`, Gemini's `candidateCount`).
    package var choices: ClosedRange<Int>
}

extension ClientProtocol {
    package var parameterRanges: ParameterRanges {
        switch self {
        case .openAI: ParameterRanges(temperature: 0...2, topP: 0...1, penalty: -2...2, choices: 1...128)
        case .anthropic: ParameterRanges(temperature: 0...1, topP: 0...1, penalty: nil, choices: 1...1)
        case .gemini: ParameterRanges(temperature: 0...2, topP: 0...1, penalty: -2...2, choices: 1...8)
        case .responses: ParameterRanges(temperature: 0...2, topP: 0...1, penalty: nil, choices: 1...1)
        }
    }
}

/// A sampling parameter whose value the target protocol does not accept.
struct OutOfRange {
    /// The parameter's OpenAI name.
    var name: String
    var value: Double
    var range: ClosedRange<Double>

    /// Those of `request` for `target`.
    static func parameters(of request: ChatRequest, for target: ClientProtocol) -> [OutOfRange] {
        let ranges = target.parameterRanges
        return [
            request.temperature.map { OutOfRange(name: "temperature", value: $0, range: ranges.temperature) },
            request.topP.map { OutOfRange(name: "top_p", value: $0, range: ranges.topP) },
        ].compactMap { $0 }.filter { !$0.range.contains($0.value) }
    }

    /// The value moved to the nearest end of the range.
    var clamped: Double { min(max(value, range.lowerBound), range.upperBound) }

    func clamp(_ request: inout ChatRequest) {
        switch name {
        case "temperature": request.temperature = clamped
        default: request.topP = clamped
        }
    }
}
