import Embedding
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

@Suite struct EmbedderPrecisionConfigurationTests {
    private static let providers = """
        providers: [ { name: openai, kind: openai, base_url: "https://api.openai.com/v1" } ]
        models: [ { name: m, deployments: [ { provider: openai, model: m } ] } ]
        """

    @Test func precisionIsAutoUnlessConfigured() throws {
        let defaults = try ConfigurationLoader.parse(Self.providers)
        guard case .local(_, _, let precision) = defaults.cache.embedder else {
            Issue.record("the default embedder is not local")
            return
        }
        #expect(precision == .auto)
        let configured = try ConfigurationLoader.parse(
            Self.providers + "\ncache: { embedder: { kind: local, precision: int8 } }")
        guard case .local(_, _, let int8) = configured.cache.embedder else {
            Issue.record("the configured embedder is not local")
            return
        }
        #expect(int8 == .int8)
    }

    @Test func anUnknownPrecisionIsAProblemAtItsPath() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(Self.providers + "\ncache: { embedder: { kind: local, precision: fp8 } }")
        }
        #expect(error.problems.map(\.path) == ["cache.embedder.precision"])
        #expect(error.problems.first?.message.contains("auto, int8 or fp32") == true)
    }
}
