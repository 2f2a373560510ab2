/// One thing wrong with a configuration file, with where it is.
public struct ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    /// The dotted path of the offending value, like `models[0].deployments[1].provider`.
    public let path: String
    public let line: Int?
    public let column: Int?
    public let message: String

    public var description: String {
        let place = line.map { "line \($0)\(column.map { ", column \($0)" } ?? ""): " } ?? ""
        return "\(place)\(path.isEmpty ? "" : "\(path): ")\(message)"
    }
}

/// Every problem found in a configuration file; it is thrown only when there is at least one.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let problems: [ConfigurationProblem]

    public var description: String {
        "\(file): \(problems.count) problem\(problems.count == 1 ? "" : "s")\n"
            + problems.map { "  \($0)" }.joined(separator: "\n")
    }
}
