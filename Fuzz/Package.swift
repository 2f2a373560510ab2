// swift-tools-version:6.0
import PackageDescription

/// The libFuzzer binary, apart from the gateway's package: it is built with
/// `-sanitize=fuzzer,address` (see scripts/fuzz.sh), which instruments every module it
/// links, so it links only the small parser targets (Canonical, Protocols, Tokenizer), never the server.
let package = Package(
    name: "RouterShiftFuzz",
    dependencies: [.package(name: "RouterShift", path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .executableTarget(
            name: "routershift-fuzz",
            dependencies: ["CFuzzDriver", .product(name: "FuzzTargets", package: "RouterShift")]
        ),
    ]
)
