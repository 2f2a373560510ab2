import Hummingbird

/// GET /metrics: the Prometheus text exposition, without a key, as scrapers expect. Its labels name
/// routes, model groups, deployments and statuses, never keys.
struct MetricsRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.get("/metrics") { _, _ in
            let body = gateway.telemetry.metrics.exposition(deployments: gateway.routing.snapshot())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}
