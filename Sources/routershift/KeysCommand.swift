import ArgumentParser
import Foundation
import Proxy
import RouterShiftConfiguration

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage virtual keys in the gateway's database.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once.")

        @OptionGroup var options: ConfigOptions
        @Option(help: "A name to recognise the key by.") var name: String
        @Option(help: "The team the key belongs to.") var team: String?
        @Option(help: "Comma-separated models the key may use (default: all).") var models: String?
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Tokens per minute.") var tpm: Int?
        @Option(help: "Requests in flight at once.") var maxParallel: Int?
        @Option(help: "Maximum spend in dollars per budget period.") var budget: Double?
        @Option(help: "day, week, month or total.") var budgetPeriod: String?
        @Flag(help: "Never audit this key's semantic hits (cache.audit re-asks a share of them upstream).")
        var noCacheAudit = false

        func run() throws {
            let draft = KeyDraft(
                name: name, team: team,
                models: models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } },
                rpm: rpm, tpm: tpm, maxParallel: maxParallel, budget: budget, budgetPeriod: budgetPeriod,
                cacheAudit: noCacheAudit ? false : nil)
            let configuration = try options.loadWithoutSecrets()
            do {
                try draft.validate(against: configuration)
            } catch {
                throw ValidationError(error.message)
            }
            let store = try options.openStore(configuration)
            let (key, secret) = try store.createKey(draft, now: SystemClock().wallTime())
            print("created \(key.id) (\(key.name))")
            print(secret)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Include revoked keys.") var all = false

        func run() throws {
            let store = try options.openStore()
            let keys = try store.keys(includeRevoked: all)
            let rows = keys.map { key in
                [
                    key.id, key.name, key.prefix + "…", key.team ?? "-", key.models?.joined(separator: ",") ?? "all",
                    key.rpm.map(String.init) ?? "-", key.isRevoked ? "revoked" : "active",
                ]
            }
            printTable(["id", "name", "prefix", "team", "models", "rpm", "state"], rows)
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key by id or prefix; it is refused at once.")

        @OptionGroup var options: ConfigOptions
        @Argument(help: "The key's id (key_...) or secret prefix.") var key: String

        func run() throws {
            let store = try options.openStore()
            guard let revoked = try store.revokeKey(key, now: SystemClock().wallTime()) else {
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
