import ArgumentParser
import Proxy
import RouterShiftConfiguration

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check configuration files.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration file, reporting every problem with its place in the file.")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            do {
                let configuration = try ConfigurationLoader.load(path: options.config)
                print(
                    "\(options.config): OK (\(configuration.providers.count) providers, \(configuration.models.count) models)"
                )
            } catch let error as ConfigurationError {
                print(error.description)
                throw ExitCode(1)
            }
        }
    }
}
