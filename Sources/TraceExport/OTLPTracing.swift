import Logging
import OTel
import RouterShiftConfiguration
import ServiceLifecycle
import Tracing

/// The tracer behind `telemetry.otlp`: spans batched and exported over OTLP/HTTP (protobuf) by swift-otel,
/// with W3C trace context as the propagation format. Nothing is bootstrapped globally: the gateway is given
/// the tracer, and runs the exporter as one of its services.
public enum OTLPTracing {
    /// - Returns: the tracer, and the service that exports its spans (flushing them when it stops).
    /// - Throws: if swift-otel refuses the settings.
    public static func make(_ settings: GatewayConfiguration.OTLP, logger: Logger) throws -> (
        tracer: any Tracer, exporter: any Service
    ) {
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.propagators = [.traceContext]
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = settings.tracesURL
        configuration.traces.otlpExporter.headers = settings.headers.sorted { $0.key < $1.key }.map {
            ($0.key, $0.value)
        }
        // A client's sampling decision (its traceparent's flag) is kept; a trace started here is kept at the rate.
        configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: settings.sampleRate) ?? .parentBasedAlwaysOn
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        return (tracer, service)
    }
}
