import ArgumentParser

@main
struct RouterShiftBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routershift-bench",
        abstract: "Benchmarks of RouterShift's components, each beside its peer on the same data in the same run.",
        discussion: "Run in release mode from the repository root: swift run -c release routershift-bench index",
        subcommands: [
            IndexBenchmark.self, EmbedBenchmark.self, EmbedQualityBenchmark.self, ProxyBenchmark.self,
            CacheBenchmark.self, HitPhasesBenchmark.self, KernelBenchmark.self, SoakBenchmark.self,
        ]
    )
}

/// Flags every benchmark shares.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON Lines, one object per result row, instead of a table.")
    var json = false

    @Flag(help: "Skip the peer (hnswlib, onnxruntime, ...) and print RouterShift's figures alone.")
    var noPeer = false
}
