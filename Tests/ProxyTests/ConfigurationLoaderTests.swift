import Foundation
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

@Suite struct ConfigurationLoaderTests {
    @Test func readsTheShippedDefaultConfiguration() throws {
        let configuration = try ConfigurationLoader.load(
            path: "data/routershift.yaml", environment: ["ROUTERSHIFT_MASTER_KEY": "sk-master-0000"])
        #expect(configuration.server.masterKey == "sk-master-0000")
        #expect(configuration.providers.map(\.kind) == [.openAI, .anthropic, .gemini])
        #expect(configuration.group(named: "claude-sonnet-4")?.fallbacks == ["gpt-4o-mini"])
        #expect(configuration.cache.enabled)
        #expect(configuration.group(named: "gpt-4o-mini")?.endpoints == [.chat])
        #expect(configuration.group(named: "whisper-1")?.endpoints == [.audioTranscription])
        #expect(configuration.server.batchConcurrency == 8 && configuration.server.asyncWorkers == 4)
    }

    @Test func readsTheOTLPExporterSettings() throws {
        let configuration = try ConfigurationLoader.parse(
            """
            telemetry:
              otlp: { endpoint: "http://collector:4318", service_name: gateway-eu, sample_rate: 0.25,
                      headers: { x-api-key: env:COLLECTOR_KEY } }
            """, environment: ["COLLECTOR_KEY": "secret-1"])
        let otlp = try #require(configuration.telemetry.otlp)
        #expect(otlp.tracesURL == "http://collector:4318/v1/traces")
        #expect(otlp.serviceName == "gateway-eu" && otlp.sampleRate == 0.25)
        #expect(otlp.headers == ["x-api-key": "secret-1"])
        #expect(GatewayConfiguration.OTLP(endpoint: "https://c/v1/traces").tracesURL == "https://c/v1/traces")
        #expect(try ConfigurationLoader.parse("").telemetry.otlp == nil)
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("telemetry: { otlp: { endpoint: collector:4318, sample_rate: 2 } }")
        }
        #expect(error.problems.map(\.path) == ["telemetry.otlp.endpoint"])
        let rate = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(
                "telemetry: { otlp: { endpoint: 'http://c:4318', sample_rate: 2, color: red } }")
        }
        #expect(Set(rate.problems.map(\.path)) == ["telemetry.otlp.sample_rate", "telemetry.otlp.color"])
    }

    @Test func readsTheAuditSettings() throws {
        let audit = try #require(
            try ConfigurationLoader.parse(
                "cache: { max_wrong_hit_rate: 0.03, audit: { rate: 0.1, near_miss_rate: 0.25, max_cost_per_day: 2 } }"
            ).cache.audit)
        #expect(audit.rate == 0.1 && audit.nearMissRate == 0.25 && audit.maxCostPerDay == 2 && audit.judge == nil)
        #expect(try ConfigurationLoader.parse("cache: { audit: { rate: 0.1 } }").cache.audit?.nearMissRate == nil)
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("cache: { audit: { near_miss_rate: 1.5, judge: nobody } }")
        }
        #expect(Set(error.problems.map(\.path)) == ["cache.audit.near_miss_rate", "cache.audit.judge"])
    }

    @Test func readsTheIndexSearchWidth() throws {
        #expect(try ConfigurationLoader.parse("cache: { ef_search: 512 }").cache.efSearch == 512)
        #expect(try ConfigurationLoader.parse("cache: { ttl: 1d }").cache.efSearch == 256)
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("cache: { ef_search: 4 }")
        }
        #expect(error.problems.map(\.path) == ["cache.ef_search"])
    }

    @Test func readsEndpointsAndTaskSettings() throws {
        let configuration = try ConfigurationLoader.parse(
            """
            server: { batch_concurrency: 3, max_batch_items: 50, async_workers: 2, async_max_attempts: 5, async_retention: 2d }
            providers: [ { name: openai, kind: openai, base_url: "https://api.openai.com/v1" } ]
            models:
              - { name: embed, endpoints: [embeddings, rerank], deployments: [ { provider: openai, model: e } ] }
            """)
        #expect(configuration.models[0].endpoints == [.embeddings, .rerank])
        let server = configuration.server
        #expect(server.batchConcurrency == 3 && server.maxBatchItems == 50 && server.asyncWorkers == 2)
        #expect(server.asyncMaxAttempts == 5 && server.asyncRetention == 2 * 86400)
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(
                """
                providers: [ { name: openai, kind: openai, base_url: "https://api.openai.com/v1" } ]
                models:
                  - { name: a, endpoints: [chat, video], deployments: [ { provider: openai, model: e } ] }
                  - { name: b, endpoints: [], deployments: [ { provider: openai, model: e } ] }
                """)
        }
        #expect(error.problems.map(\.path) == ["models[0].endpoints[1]", "models[1].endpoints"])
        #expect(error.problems[0].message.contains("not `video`"))
    }

    @Test func readsTeamBudgetsAndLogRetention() throws {
        let configuration = try ConfigurationLoader.parse(
            """
            teams:
              - { name: research, budget: 250, budget_period: week }
              - { name: support, budget: 40 }
            logging: { retention: 120d, max_rows: 5000 }
            """)
        #expect(
            configuration.teams == [
                .init(name: "research", budget: 250, budgetPeriod: .week),
                .init(name: "support", budget: 40, budgetPeriod: .month),
            ])
        #expect(configuration.logging.retention == 120 * 86400 && configuration.logging.maxRows == 5000)
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(
                """
                teams:
                  - { name: a, budget: -1 }
                  - { name: b, budget: 5, budget_period: fortnight }
                  - { name: c }
                """)
        }
        #expect(error.problems.map(\.path) == ["teams[0].budget", "teams[1].budget_period", "teams[2].budget"])
    }

    @Test func commandsOnTheDatabaseAloneNeedNoSecrets() throws {
        let text = """
            server: { master_key: env:UNSET_MASTER }
            database: { path: /tmp/gateway.sqlite }
            providers: [ { name: openai, kind: openai, base_url: "https://api.openai.com/v1", api_key: env:UNSET_KEY } ]
            """
        let error = try #require(throws: ConfigurationError.self) { try ConfigurationLoader.parse(text) }
        #expect(error.problems.map(\.path) == ["server.master_key", "providers[0].api_key"])
        let configuration = try ConfigurationLoader.parse(text, secretsOptional: true)
        #expect(configuration.databasePath == "/tmp/gateway.sqlite" && configuration.server.masterKey == nil)
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("database: { path: [1] }", secretsOptional: true)
        }
    }

    @Test func resolvesSecretsAndDurations() throws {
        let configuration = try ConfigurationLoader.parse(
            """
            server: { master_key: env:MASTER }
            providers:
              - { name: openai, kind: openai, base_url: "https://api.openai.com/v1/", api_key: env:OPENAI_API_KEY, timeout: 2m }
            models:
              - name: gpt-4o
                strategy: latency
                deployments: [ { provider: openai, model: gpt-4o, rpm: 500, tpm: 30000 } ]
            cache: { ttl: 36h, threshold: 0.93 }
            routing: { backoff: 250ms, breaker: { cooldown: 1m } }
            """, environment: ["MASTER": "sk-master-1234", "OPENAI_API_KEY": "sk-provider"])
        #expect(configuration.providers[0].apiKey == "sk-provider")
        #expect(configuration.providers[0].baseURL == "https://api.openai.com/v1")
        #expect(configuration.providers[0].timeout == 120)
        #expect(configuration.models[0].deployments[0].name == "openai/gpt-4o")
        #expect(configuration.models[0].strategy == .latency)
        #expect(configuration.cache.ttl == 36 * 3600 && configuration.cache.threshold == 0.93)
        #expect(configuration.routing.backoffBase == 0.25 && configuration.routing.breaker.cooldown == 60)
    }

    /// Every problem at once, each with its path and line.
    @Test func reportsEveryProblemWithItsPlace() throws {
        let text = """
            server: { port: 99999, master_key: env:MISSING_KEY }
            providers:
              - { name: openai, kind: openia, base_url: "https://x" }
              - { name: local, kind: openai, base_url: "not a url" }
            models:
              - name: gpt-4o
                strategi: weighted
                deployments:
                  - { provider: azure, model: gpt-4o }
                fallbacks: [claude]
              - name: empty
            cache: { threshold: 1.5, scope: tenant }
            """
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(text, file: "bad.yaml")
        }
        let problems = Dictionary(error.problems.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(problems["server.port"]?.line == 1)
        #expect(problems["server.master_key"]?.message == "environment variable MISSING_KEY is not set")
        #expect(problems["providers[0].kind"]?.message.contains("openia") == true)
        #expect(problems["providers[1].base_url"] != nil)
        #expect(problems["models[0].strategi"]?.message == "unknown key `strategi` (did you mean `strategy`?)")
        #expect(problems["models[0].deployments[0].provider"]?.message == "no provider named `azure` is configured")
        #expect(problems["models[0].fallbacks[0]"]?.line == 10)
        #expect(problems["models[1].deployments"] != nil)
        #expect(problems["cache.threshold"] != nil && problems["cache.scope"] != nil)
        #expect(error.problems.count >= 10)
        #expect(error.description.hasPrefix("bad.yaml: "))
    }

    @Test func invalidYAMLIsOneProblemWithItsLine() {
        let error = try? ConfigurationLoader.parse("models: [unclosed\n  - x: y")
        #expect(error == nil)
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse("models: [unclosed\n  - x: y") }
    }
}
