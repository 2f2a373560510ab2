import RouterShiftConfiguration

extension FuzzTarget {
    /// The YAML configuration loader: any text is a configuration or a list of problems, each with a path
    /// and a message, never a crash; `env:` references read from a fixed environment.
    static let configuration = FuzzTarget("config", "ConfigurationLoader.parse on arbitrary YAML") { input in
        let text = String(decoding: input, as: UTF8.self)
        do {
            let configuration = try ConfigurationLoader.parse(
                text, environment: ["OPENAI_API_KEY": "sk-fuzz", "EMPTY": ""])
            _ = configuration.resolvingPaths(against: "/tmp")
        } catch let error as ConfigurationError {
            require(!error.problems.isEmpty, "a configuration error without a problem")
            require(error.problems.allSatisfy { !$0.message.isEmpty }, "a problem without a message")
        } catch {
            require(false, "parse threw something other than a ConfigurationError: \(error)")
        }
    }
}
