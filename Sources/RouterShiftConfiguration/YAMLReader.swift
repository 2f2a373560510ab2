import Foundation
import Yams

/// Reads a YAML node tree into configuration values, collecting every problem with its path and line
/// instead of stopping at the first.
final class YAMLReader {
    private(set) var problems: [ConfigurationProblem] = []
    let environment: [String: String]
    /// Whether an `env:` reference to an unset variable is absent rather than a problem.
    let secretsOptional: Bool

    init(environment: [String: String], secretsOptional: Bool = false) {
        self.environment = environment
        self.secretsOptional = secretsOptional
    }

    func problem(_ path: String, _ node: Node?, _ message: String) {
        problems.append(
            ConfigurationProblem(path: path, line: node?.mark?.line, column: node?.mark?.column, message: message))
    }

    /// A mapping's entries by key; reports a node that is not a mapping and keys outside `allowed`.
    func mapping(_ node: Node?, path: String, allowed: Set<String>) -> [String: Node] {
        guard let node else { return [:] }
        guard let mapping = node.mapping else {
            problem(path, node, "must be a mapping")
            return [:]
        }
        var entries: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else {
                problem(path, key, "keys must be strings")
                continue
            }
            if !allowed.contains(name) {
                let hint = allowed.min { editDistance($0, name) < editDistance($1, name) }
                let suggestion = hint.flatMap { editDistance($0, name) <= 2 ? " (did you mean `\($0)`?)" : nil } ?? ""
                problem(join(path, name), key, "unknown key `\(name)`\(suggestion)")
                continue
            }
            entries[name] = value
        }
        return entries
    }

    func sequence(_ node: Node?, path: String) -> [Node] {
        guard let node else { return [] }
        guard let sequence = node.sequence else {
            problem(path, node, "must be a list")
            return []
        }
        return Array(sequence)
    }

    func string(_ node: Node?, path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            problem(path, node, "must be a string")
            return nil
        }
        return scalar.string
    }

    func requiredString(_ node: Node?, path: String, parent: Node?) -> String? {
        guard node != nil else {
            problem(path, parent, "is required")
            return nil
        }
        let value = string(node, path: path)
        if value?.isEmpty == true { problem(path, node, "must not be empty") }
        return value
    }

    /// A string that may be `env:NAME`, read from the environment.
    func secret(_ node: Node?, path: String) -> String? {
        guard let value = string(node, path: path) else { return nil }
        guard value.hasPrefix("env:") else { return value }
        let name = String(value.dropFirst(4))
        guard let resolved = environment[name], !resolved.isEmpty else {
            if !secretsOptional { problem(path, node, "environment variable \(name) is not set") }
            return nil
        }
        return resolved
    }

    func int(_ node: Node?, path: String, range: ClosedRange<Int>? = nil) -> Int? {
        guard let node else { return nil }
        guard let value = node.int else {
            problem(path, node, "must be an integer")
            return nil
        }
        if let range, !range.contains(value) {
            problem(path, node, "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return value
    }

    func double(_ node: Node?, path: String, range: ClosedRange<Double>? = nil) -> Double? {
        guard let node else { return nil }
        guard let value = node.float ?? node.int.map(Double.init) else {
            problem(path, node, "must be a number")
            return nil
        }
        if let range, !range.contains(value) {
            problem(path, node, "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return value
    }

    func bool(_ node: Node?, path: String) -> Bool? {
        guard let node else { return nil }
        guard let value = node.bool else {
            problem(path, node, "must be true or false")
            return nil
        }
        return value
    }

    /// A duration: a number of seconds, or a number with a unit (`250ms`, `30s`, `5m`, `2h`, `7d`).
    func seconds(_ node: Node?, path: String) -> Double? {
        guard let node else { return nil }
        if let number = node.float ?? node.int.map(Double.init) { return number }
        guard let text = node.string, let value = Self.parseDuration(text) else {
            problem(path, node, "must be a duration such as 250ms, 30s, 5m, 2h or 7d")
            return nil
        }
        return value
    }

    static func parseDuration(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count)), number >= 0 { return number * scale }
        }
        return Double(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    func stringList(_ node: Node?, path: String) -> [String] {
        sequence(node, path: path).enumerated().compactMap { string($1, path: "\(path)[\($0)]") }
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where i <= a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where j <= b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
