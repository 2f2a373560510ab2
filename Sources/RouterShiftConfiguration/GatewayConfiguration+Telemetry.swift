import Foundation
import Yams

extension GatewayConfiguration {
    /// `telemetry`: where the gateway's traces go.
    public struct Telemetry: Sendable, Equatable {
        /// Spans exported over OTLP/HTTP; nil exports none.
        public var otlp: OTLP?
        public init() {}
    }

    /// `telemetry.otlp`: an OpenTelemetry collector's OTLP/HTTP endpoint.
    public struct OTLP: Sendable, Equatable {
        /// The collector's base URL (`http://HOST:4318`); spans go to its `/v1/traces`.
        public var endpoint: String
        /// `service.name` of the spans' resource.
        public var serviceName = "routershift"
        /// The share of traces started here that are recorded; a client's `traceparent` decision is followed.
        public var sampleRate = 1.0
        /// Sent with every export (a collector's API key, say); values may be `env:` references.
        public var headers: [String: String] = [:]

        public init(endpoint: String) { self.endpoint = endpoint }

        /// Where spans are posted: the endpoint's `/v1/traces`, unless it names that path already.
        public var tracesURL: String {
            if endpoint.hasSuffix("/v1/traces") { return endpoint }
            return (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/v1/traces"
        }
    }
}

extension ConfigurationLoader {
    static func readTelemetry(_ node: Node?, into telemetry: inout GatewayConfiguration.Telemetry, reader: YAMLReader) {
        let fields = reader.mapping(node, path: "telemetry", allowed: ["otlp"])
        guard let otlpNode = fields["otlp"] else { return }
        let path = "telemetry.otlp"
        let otlp = reader.mapping(
            otlpNode, path: path, allowed: ["endpoint", "service_name", "sample_rate", "headers"])
        guard let endpoint = reader.requiredString(otlp["endpoint"], path: "\(path).endpoint", parent: otlpNode) else {
            return
        }
        guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            reader.problem("\(path).endpoint", otlp["endpoint"], "must be an http or https URL")
            return
        }
        var settings = GatewayConfiguration.OTLP(endpoint: endpoint)
        if let name = reader.string(otlp["service_name"], path: "\(path).service_name") {
            if name.isEmpty {
                reader.problem("\(path).service_name", otlp["service_name"], "must not be empty")
            } else {
                settings.serviceName = name
            }
        }
        if let rate = reader.double(otlp["sample_rate"], path: "\(path).sample_rate", range: 0...1) {
            settings.sampleRate = rate
        }
        if let headers = otlp["headers"]?.mapping {
            for (key, value) in headers {
                if let key = key.string, let value = reader.secret(value, path: "\(path).headers.\(key)") {
                    settings.headers[key] = value
                }
            }
        }
        telemetry.otlp = settings
    }
}
