import ArgumentParser
import Foundation
import Proxy
import RouterShiftConfiguration

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage virtual keys in the gateway's database.",
        subcommands: [Create.self, List.self, Update.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once.")

        @OptionGroup var options: ConfigOptions
        @Option(help: "A name to recognise the key by.") var name: String
        @OptionGroup var settings: KeySettings
        @Flag(help: "Never audit this key's semantic hits (cache.audit re-asks a share of them upstream).")
        var noCacheAudit = false

        func run() async throws {
            let draft = KeyDraft(
                name: name, team: settings.team, models: settings.modelList, rpm: settings.rpm, tpm: settings.tpm,
                maxParallel: settings.maxParallel, budget: settings.budget, budgetPeriod: settings.budgetPeriod,
                cacheAudit: noCacheAudit ? false : nil)
            let configuration = try options.loadWithoutSecrets()
            do {
                try draft.validate(against: configuration)
            } catch {
                throw ValidationError(error.message)
            }
            let store = try options.openStore(configuration)
            let (key, secret) = try await store.createKey(draft, now: SystemClock().wallTime())
            print("created \(key.id) (\(key.name))")
            print(secret)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Include revoked keys.") var all = false

        func run() async throws {
            let store = try options.openStore()
            let keys = try await store.keys(includeRevoked: all)
            let rows = keys.map { key in
                [
                    key.id, key.name, key.prefix + "…", key.team ?? "-", key.models?.joined(separator: ",") ?? "all",
                    key.rpm.map(String.init) ?? "-", key.isRevoked ? "revoked" : "active",
                ]
            }
            printTable(["id", "name", "prefix", "team", "models", "rpm", "state"], rows)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Change a key's name, team, models, limits or budget; a running gateway applies it within a second.",
            discussion: "Options given change; --clear removes a limit, the team or the model list (all models).")

        @OptionGroup var options: ConfigOptions
        @Argument(help: "The key's id (key_...) or secret prefix.") var key: String
        @Option(help: "A new name.") var name: String?
        @OptionGroup var settings: KeySettings
        @Option(help: "Whether the key's semantic hits may be audited (true or false).") var cacheAudit: Bool?
        @Option(help: "Comma-separated settings to remove: team, models, rpm, tpm, max-parallel, budget.")
        var clear: String?

        func run() async throws {
            var change = KeyChange()
            change.name = name
            // An option given sets the field (`.some`); one left out keeps it (nil).
            if let team = settings.team { change.team = .some(team) }
            if let models = settings.modelList { change.models = .some(models) }
            if let rpm = settings.rpm { change.rpm = .some(rpm) }
            if let tpm = settings.tpm { change.tpm = .some(tpm) }
            if let maxParallel = settings.maxParallel { change.maxParallel = .some(maxParallel) }
            if let budget = settings.budget { change.budget = .some(budget) }
            if let budgetPeriod = settings.budgetPeriod { change.budgetPeriod = .some(budgetPeriod) }
            if let cacheAudit { change.cacheAudit = .some(cacheAudit) }
            for setting in clear?.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) ?? [] {
                switch setting {
                case "team": change.team = .some(nil)
                case "models": change.models = .some(nil)
                case "rpm": change.rpm = .some(nil)
                case "tpm": change.tpm = .some(nil)
                case "max-parallel": change.maxParallel = .some(nil)
                case "budget": (change.budget, change.budgetPeriod) = (.some(nil), .some(nil))
                default:
                    throw ValidationError(
                        "--clear takes team, models, rpm, tpm, max-parallel or budget, not `\(setting)`")
                }
            }
            guard !change.isEmpty else { throw ValidationError("nothing to change: give an option or --clear") }
            let configuration = try options.loadWithoutSecrets()
            let store = try options.openStore(configuration)
            let updated: VirtualKey?
            do {
                updated = try await store.updateKey(key, change) {
                    try KeyDraft(of: $0).validate(against: configuration)
                }
            } catch let error as GatewayError {
                throw ValidationError(error.message)
            }
            guard let updated else { throw ValidationError("no key with id or prefix \(key)") }
            print("updated \(updated.id) (\(updated.name))")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key by id or prefix; a running gateway refuses it within a second.")

        @OptionGroup var options: ConfigOptions
        @Argument(help: "The key's id (key_...) or secret prefix.") var key: String

        func run() async throws {
            let store = try options.openStore()
            guard let revoked = try await store.revokeKey(key, now: SystemClock().wallTime()) else {
                throw ValidationError("no key with id or prefix \(key)")
            }
            print("revoked \(revoked.id) (\(revoked.name))")
        }
    }
}

/// Prints rows under a header, columns aligned.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        print(
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                separator: "  "))
    }
}

/// A key's team, models, limits and budget, as `keys create` and `keys update` take them.
struct KeySettings: ParsableArguments {
    @Option(help: "The team the key belongs to.") var team: String?
    @Option(help: "Comma-separated models the key may use (default: all).") var models: String?
    @Option(help: "Requests per minute.") var rpm: Int?
    @Option(help: "Tokens per minute.") var tpm: Int?
    @Option(help: "Requests in flight at once.") var maxParallel: Int?
    @Option(help: "Maximum spend in dollars per budget period.") var budget: Double?
    @Option(help: "day, week, month or total.") var budgetPeriod: String?

    var modelList: [String]? {
        models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }
}
