import Hummingbird

/// `GET /health`: unauthenticated, for load balancers.
struct HealthRoutes {
    func register(on router: Router<GatewayContext>) {
        router.get("/health") { _, _ in jsonResponse(["status": "ok"]) }
    }
}
