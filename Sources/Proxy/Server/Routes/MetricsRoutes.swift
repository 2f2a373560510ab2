import Embedding
import GRDB
import Hummingbird

/// GET /metrics: the Prometheus text exposition, without a key, as scrapers expect. Its labels name
/// routes, model groups, deployments and statuses, never keys.
struct MetricsRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.get("/metrics") { _, _ in
            let body = gateway.telemetry.metrics.exposition(try gateway.scrapeFigures())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}

extension Gateway {
    /// The gauges read at scrape time: two small SQLite queries, the index's in-memory figures, the
    /// embedder's queue and /proc.
    func scrapeFigures() throws -> ScrapeFigures {
        var figures = ScrapeFigures(deployments: routing.snapshot(), process: ProcessMetrics.read())
        let counts = try store.readNow { db in
            (
                entries: try Int.fetchOne(db, sql: "SELECT count(*) FROM cache_entry") ?? 0,
                bytes: try Int.fetchOne(
                    db, sql: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") ?? 0
            )
        }
        figures.databaseBytes = counts.bytes
        if let cache {
            figures.cacheEntries = counts.entries
            figures.indexEntries = cache.index?.count
            figures.indexBytes = cache.index?.memoryBytes
            figures.embedder = (cache.embedder as? LocalEmbedder)?.load
        }
        return figures
    }
}
