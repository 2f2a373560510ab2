import Foundation
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// Live reload (`POST /admin/config/reload`, SIGHUP): live settings change without a restart, in-flight
/// requests finish on what they started with, a bad file changes nothing, and what needs a restart is named.
@Suite struct ConfigurationReloadTests {
    static let providers = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
          - { name: other, kind: openai, base_url: "MOCK/v1" }
        routing: { retries: 0, breaker: { consecutive_failures: 1, cooldown: 10m } }
        cache: { enabled: false }

        """

    static func chat(_ model: String, content: String = "hi") -> JSONValue {
        ["model": .string(model), "messages": [["role": "user", "content": .string(content)]]]
    }

    @Test func aReloadAddsAndRemovesModelGroups() async throws {
        let before =
            Self.providers + "models: [ { name: chat, deployments: [ { provider: mock, model: mock-small } ] } ]"
        try await LiveGateway.run(yaml: before) { live in
            #expect(try await live.post("/v1/chat/completions", Self.chat("extra")).status == 404)
            try live.writeConfiguration(
                Self.providers + """
                    models:
                      - { name: chat, deployments: [ { provider: mock, model: mock-small } ] }
                      - { name: extra, deployments: [ { name: other-large, provider: other, model: mock-large } ] }
                    """)
            let reload = try await live.post("/admin/config/reload", [:])
            #expect(reload.status == 200, "\(reload.text)")
            #expect(reload.body["changed"] == ["models"])
            #expect(reload.body["restart_required"] == [])
            let listed = try await live.get("/v1/models").body["data"]?.array?.compactMap { $0["id"]?.string }
            #expect(listed == ["chat", "extra"])
            let extra = try await live.post("/v1/chat/completions", Self.chat("extra"))
            #expect(extra.status == 200, "\(extra.text)")
            #expect(extra.headers.first(name: "x-routershift-deployment") == "other-large")

            try live.writeConfiguration(before)
            #expect(try await live.post("/admin/config/reload", [:]).status == 200)
            #expect(try await live.post("/v1/chat/completions", Self.chat("extra")).status == 404)
            #expect(try await live.post("/v1/chat/completions", Self.chat("chat")).status == 200)
        }
    }

    @Test func aBadFileIsRefusedWithEveryProblemAndChangesNothing() async throws {
        let good = Self.providers + "models: [ { name: chat, deployments: [ { provider: mock, model: mock-small } ] } ]"
        try await LiveGateway.run(yaml: good) { live in
            try live.writeConfiguration(
                Self.providers + """
                    models:
                      - { name: chat, strategy: fastest, deployments: [ { provider: nowhere, model: mock-small } ] }
                      - { name: extra, deployments: [ { provider: mock, model: mock-large } ] }
                    """)
            let reload = try await live.post("/admin/config/reload", [:])
            #expect(reload.status == 400, "\(reload.text)")
            #expect(reload.body["error"]?["code"] == "invalid_configuration")
            let problems = reload.body["error"]?["problems"]?.array ?? []
            let paths = problems.compactMap { $0["path"]?.string }
            #expect(paths.contains("models[0].strategy"), "\(reload.text)")
            #expect(paths.contains("models[0].deployments[0].provider"), "\(reload.text)")
            #expect(problems.allSatisfy { $0["line"]?.integer != nil }, "every problem has its place")
            // Nothing of the refused file is in force: not the valid group it adds either.
            #expect(try await live.post("/v1/chat/completions", Self.chat("extra")).status == 404)
            #expect(try await live.post("/v1/chat/completions", Self.chat("chat")).status == 200)
            #expect(live.gateway.configuration.models.map(\.name) == ["chat"])
        }
    }

    @Test func settingsThatNeedARestartAreNamedAndKeptWhileLiveOnesChange() async throws {
        let yaml = """
            providers: [ { name: mock, kind: openai, base_url: "MOCK/v1" } ]
            models: [ { name: chat, deployments: [ { provider: mock, model: mock-small } ] } ]
            cache: { semantic: false, threshold: 0.92 }
            """
        try await LiveGateway.run(yaml: yaml) { live in
            #expect(try await live.post("/admin/keys", ["name": "k", "team": "research"]).status == 400)
            try live.writeConfiguration(
                yaml.replacingOccurrences(of: "threshold: 0.92", with: "threshold: 0.95, ttl: 1h") + """

                    server: { max_body_bytes: 2048 }
                    logging: { max_rows: 10 }
                    teams: [ { name: research, budget: 5, budget_period: day } ]
                    """)
            let reload = try await live.post("/admin/config/reload", [:])
            #expect(reload.status == 200, "\(reload.text)")
            #expect(reload.body["changed"] == ["cache", "teams"])
            #expect(reload.body["restart_required"] == ["server.max_body_bytes", "logging.max_rows"])
            let configuration = live.gateway.configuration
            #expect(configuration.server.maxBodyBytes == GatewayConfiguration.Server().maxBodyBytes)
            #expect(configuration.logging.maxRows == GatewayConfiguration.Logging().maxRows)
            #expect(live.gateway.cache?.settings.threshold == 0.95)
            #expect(live.gateway.cache?.settings.ttl == 3600)
            #expect(try await live.post("/admin/keys", ["name": "k", "team": "research"]).status == 201)
        }
    }

    @Test func aRemovedDeploymentDrainsAndAKeptOneKeepsItsBreaker() async throws {
        let before =
            Self.providers + """
                models:
                  - name: chat
                    deployments:
                      - { name: slow, provider: mock, model: "mock@latency1500" }
                  - name: flaky
                    deployments:
                      - { name: flaky-a, provider: other, model: "mock@fail500" }
                """
        try await LiveGateway.run(yaml: before) { live in
            // The flaky deployment's breaker opens at its first failure.
            let first = try await live.post("/v1/chat/completions", Self.chat("flaky"))
            #expect(first.status == 502, "\(first.text)")
            #expect(try await live.post("/v1/chat/completions", Self.chat("flaky")).status == 503)
            async let inFlight = live.post("/v1/chat/completions", Self.chat("chat"))
            try await Self.waitUntil { live.gateway.routing.groups["chat"]?.deployments.first?.inFlight == 1 }

            try live.writeConfiguration(
                Self.providers + """
                    models:
                      - name: chat
                        deployments:
                          - { name: fast, provider: other, model: mock-small }
                      - name: flaky
                        deployments:
                          - { name: renamed, provider: other, model: "mock@fail500", weight: 2 }
                    """)
            #expect(try await live.post("/admin/config/reload", [:]).status == 200)
            let fresh = try await live.post("/v1/chat/completions", Self.chat("chat"))
            #expect(fresh.headers.first(name: "x-routershift-deployment") == "fast")
            let drained = try await inFlight
            #expect(drained.status == 200, "the request running on the removed deployment finishes")
            #expect(drained.headers.first(name: "x-routershift-deployment") == "slow")

            // Same provider and model: the same deployment, so its open breaker still refuses at once.
            #expect(try await live.post("/v1/chat/completions", Self.chat("flaky")).status == 503)
            let routing = try await live.get("/admin/routing").body["data"]?.array ?? []
            let renamed = routing.first { $0["name"] == "renamed" }
            #expect(renamed?["breaker"] == "open")
            #expect(renamed?["total_requests"]?.integer == 1)
            #expect(routing.contains { $0["name"] == "slow" } == false)
        }
    }

    @Test func aGatewayWithoutAFileSaysItHasNoneToReload() async throws {
        var configuration = try ConfigurationLoader.parse(
            "providers: [ { name: mock, kind: openai, base_url: \"http://127.0.0.1:9/v1\" } ]\ncache: { enabled: false }",
            environment: [:])
        configuration.databasePath =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("reload-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: configuration.databasePath) }
        let gateway = try await Gateway(configuration: configuration, logger: .init(label: "test"))
        let error = try #require(throws: GatewayError.self) { try gateway.reloadFromSource() }
        #expect(error.code == "reload_unavailable")
        try await gateway.shutdown()
    }

    @Test func restartOnlySettingsAreComparedOneByOne() throws {
        let old = GatewayConfiguration()
        var new = old
        new.server.port = 4001
        new.cache.embedTurns = 2
        new.cache.maxTurns = 3
        new.cache.efSearch = 512
        new.routing.maxResponseBytes = 1 << 20
        new.routing.retries = 5
        #expect(
            old.restartRequired(toApply: new) == ["server.port", "cache.embed_turns", "routing.max_response_bytes"])
        #expect(old.liveChanges(toApply: new) == ["routing", "cache"])
        let merged = old.applyingLiveSettings(of: new)
        #expect(merged.server.port == old.server.port)
        #expect(merged.cache.embedTurns == old.cache.embedTurns)
        #expect(merged.cache.maxTurns == 3)
        #expect(merged.cache.efSearch == 512)
        #expect(merged.routing.retries == 5)
        #expect(merged.routing.maxResponseBytes == old.routing.maxResponseBytes)
    }

    static func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }
}

/// The verifier file is read again at every reload: a retrained verifier goes into force without a restart,
/// and one fitted on other features is refused with the old one kept.
@Suite struct VerifierReloadTests {
    @Test func aRetrainedVerifierFileIsLoadedByAReloadAndABadOneRefused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("verifier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("verifier.json")
        let shipped = try #require(
            try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: "data/verifier.json")))).object)
        try Data(JSONValue.object(shipped).serialized()).write(to: file)
        let yaml = """
            providers: [ { name: mock, kind: openai, base_url: "MOCK/v1" } ]
            models: [ { name: chat, deployments: [ { provider: mock, model: mock-small } ] } ]
            cache: { verifier: { file: \(file.path) },
                     embedder: { kind: local, model_dir: data/models/all-MiniLM-L6-v2, threads: 1 } }
            """
        try await LiveGateway.run(yaml: yaml) { live in
            let fitted = try #require(live.gateway.cache?.verifier)
            #expect(try await live.post("/admin/config/reload", [:]).body["changed"] == [])

            // Retrained into the same file: a reload of an unchanged configuration picks it up.
            var parameters = shipped
            parameters["threshold"] = .number(0.9)
            try Data(JSONValue.object(parameters).serialized()).write(to: file)
            let reload = try await live.post("/admin/config/reload", [:])
            #expect(reload.status == 200, "\(reload.text)")
            #expect(reload.body["changed"] == ["verifier"])
            #expect(live.gateway.cache?.verifier?.threshold == 0.9)

            // Fitted on features this embedder does not make: refused, the last good one stays.
            parameters["feature_names"] = .array([.string("unknown feature")])
            parameters["means"] = .array([.number(0)])
            parameters["scales"] = .array([.number(1)])
            try Data(JSONValue.object(parameters).serialized()).write(to: file)
            let refused = try await live.post("/admin/config/reload", [:])
            #expect(refused.status == 400, "\(refused.text)")
            #expect(refused.body["error"]?["code"] == "reload_refused")
            #expect(live.gateway.cache?.verifier?.threshold == 0.9)
            #expect(live.gateway.cache?.verifier?.candidateThreshold == fitted.candidateThreshold)
        }
    }
}
