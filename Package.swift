// swift-tools-version:6.1
import PackageDescription

/// Optimisation for the numeric modules even in debug builds: their loops are the hot path of every cached
/// request, and an unoptimised HNSW or encoder makes the test suite slow without testing anything more.
let numericSettings: [SwiftSetting] = [.unsafeFlags(["-O"])]

/// With `ROUTERSHIFT_TSAN_SUBSET=1` the package is the vector index and its tests alone, so the test script's
/// ThreadSanitizer step instruments and builds those instead of every target of the gateway.
let tsanSubset = Context.environment["ROUTERSHIFT_TSAN_SUBSET"] == "1"
let tsanTargets: Set<String> = [
    "CBLAS", "CVectorKernels", "VectorIndex", "BenchmarkSupport", "vector-index-crash-worker", "VectorIndexTests",
]

let package = Package(
    name: "RouterShift",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "VectorIndex", targets: ["VectorIndex"]),
        // The parsers under fuzzing, for the libFuzzer package in Fuzz/ (built apart, instrumented).
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ].filter { !tsanSubset || $0.name == "VectorIndex" },
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter's dependencies are not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "CVectorKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(
            name: "VectorIndex",
            dependencies: [
                "CBLAS",
                "CVectorKernels",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: numericSettings
        ),
        .target(name: "CNeuralKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=fast"])]),
        .target(name: "Tokenizer"),
        .target(
            name: "Embedding",
            dependencies: [
                "CBLAS",
                "Tokenizer",
                "CNeuralKernels",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: numericSettings
        ),
        // The data files the product ships (price table, verifier), compiled into the binary so an installed
        // copy needs no checkout beside it; data/ stays their one source.
        .target(
            name: "ShippedData",
            path: "data",
            exclude: ["models", "routershift.yaml"],
            sources: ["ShippedData.swift"],
            resources: [.embedInCode("prices.json"), .embedInCode("verifier.json")]
        ),
        .target(
            name: "ConnectionEvents",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(name: "Canonical"),
        .target(
            name: "Protocols",
            dependencies: ["Canonical", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "RouterShiftConfiguration",
            dependencies: ["Embedding", "Protocols", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "FuzzTargets",
            dependencies: [
                "Canonical", "Protocols", "RouterShiftConfiguration", "Tokenizer",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Proxy",
            dependencies: [
                "CBLAS",
                "Canonical",
                "RouterShiftConfiguration",
                "Protocols",
                "ConnectionEvents",
                "Embedding",
                "ShippedData",
                "Tokenizer",
                "VectorIndex",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // The OTLP/HTTP span exporter behind `telemetry.otlp`; Proxy sees only the Tracer it makes.
        .target(
            name: "TraceExport",
            dependencies: [
                "RouterShiftConfiguration",
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "MockUpstream",
            dependencies: [
                "ConnectionEvents",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "routershift",
            dependencies: [
                "RouterShiftConfiguration",
                "Embedding",
                "Proxy",
                "MockUpstream",
                "TraceExport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "BenchmarkSupport", path: "Benchmarks/BenchmarkSupport", swiftSettings: numericSettings),
        .executableTarget(
            name: "routershift-bench",
            dependencies: [
                "VectorIndex",
                "Embedding",
                "Tokenizer",
                "BenchmarkSupport",
                "CBLAS",
                "CVectorKernels",
                "CNeuralKernels",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/routershift-bench"
        ),
        .executableTarget(
            name: "vector-index-crash-worker",
            dependencies: ["VectorIndex", "BenchmarkSupport", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/VectorIndexCrashWorker"
        ),
        .testTarget(
            name: "VectorIndexTests",
            dependencies: ["VectorIndex", "BenchmarkSupport", "vector-index-crash-worker"]
        ),
        .testTarget(
            name: "ProxyTests",
            dependencies: [
                "Proxy",
                "RouterShiftConfiguration",
                "Protocols",
                "Tokenizer",
                "MockUpstream",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["FuzzTargets"]
        ),
        .testTarget(
            name: "EmbeddingTests",
            dependencies: ["Embedding"],
            resources: [.copy("Fixtures")]
        ),
    ].filter { !tsanSubset || tsanTargets.contains($0.name) }
)
