import ArgumentParser
import Embedding
import Foundation

struct EmbedBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Latency of one sentence of 8, 32 and 128 tokens and throughput of a batch of 32, beside onnxruntime."
    )

    @Option(help: "Directory of the model files.") var modelDir = ModelFiles.defaultDirectory
    @Option(help: "Timed calls per case; the median counts.") var repeats = 200
    @Option(help: "Untimed calls before timing.") var warmup = 10
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let (repeats, warmup) = (max(self.repeats, 1), self.warmup)
        let residentBefore = residentBytes()
        let embedder = try LocalEmbedder(files: ModelFiles(directory: URL(fileURLWithPath: modelDir)))
        let tokenizer = embedder.tokenizer
        let single = try [8, 32, 128].map { try sentence(ofTokens: $0, startingAt: 0, tokenizer: tokenizer) }
        let batch = try (0..<32).map { try sentence(ofTokens: 32, startingAt: $0 * 7 + 3, tokenizer: tokenizer) }

        var rows: [ResultRow] = []
        for text in single {
            for _ in 0..<warmup { _ = try await embedder.embed([text]) }
            var latencies: [Double] = []
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try await embedder.embed([text])
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            rows.append(
                ResultRow([
                    ("engine", .string("routershift")), ("tokens", .int(tokenizer.encode(text).count)),
                    ("batch", .int(1)),
                    ("latency_ms_p50", .double(percentile(latencies, 0.5), digits: 2)),
                    ("latency_ms_p99", .double(percentile(latencies, 0.99), digits: 2)),
                ]))
        }
        for _ in 0..<max(warmup / 5, 1) { _ = try await embedder.embed(batch) }
        var batchSeconds: [Double] = []
        for _ in 0..<max(repeats / 10, 5) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try await embedder.embed(batch)
            batchSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        rows.append(
            ResultRow([
                ("engine", .string("routershift")), ("tokens", .int(32)), ("batch", .int(32)),
                ("sentences_per_s", .double(Double(batch.count) / percentile(batchSeconds, 0.5), digits: 1)),
            ]))
        let weightsBytes =
            (try? FileManager.default.attributesOfItem(
                atPath: URL(fileURLWithPath: modelDir).appendingPathComponent("model.safetensors").path)[.size] as? Int)
            ?? 0
        rows.append(
            ResultRow([
                ("engine", .string("routershift")),
                ("peak_rss_mb", .double(Double(peakResidentBytes()) / 1_048_576, digits: 1)),
                (
                    "rss_beyond_weights_mb",
                    .double(Double(residentBytes() - residentBefore - weightsBytes) / 1_048_576, digits: 1)
                ),
                ("owned_mb", .double(Double(embedder.ownedBytes) / 1_048_576, digits: 1)),
            ]))

        if !output.noPeer {
            let file = URL(fileURLWithPath: ".build-peers/embed-sentences.json")
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let payload: [String: Any] = [
                "single": single.map { ["tokens": tokenizer.encode($0).count, "text": $0] },
                "batch": ["tokens": 32, "texts": batch], "repeats": repeats,
            ]
            try JSONSerialization.data(withJSONObject: payload).write(to: file)
            progress("onnxruntime: embedding the same sentences")
            rows += try runPeer(
                "onnxruntime", script: "onnxruntime_peer.py",
                arguments: ["--model-dir", modelDir, "--sentences", file.path, "--warmup", String(warmup)])
        }
        if output.json {
            rows.forEach { print($0.jsonLine()) }
        } else {
            printReport(rows)
        }
    }

    /// A stretch of natural prose that tokenises to exactly `tokens` ids, [CLS] and [SEP] included.
    private func sentence(ofTokens tokens: Int, startingAt offset: Int, tokenizer: WordPieceTokenizer) throws -> String
    {
        let words = Self.prose.split(separator: " ")
        var chosen: [Substring] = []
        var index = offset
        while tokenizer.encode(chosen.joined(separator: " ")).count < tokens {
            let word = words[index % words.count]
            index += 1
            if tokenizer.encode((chosen + [word]).joined(separator: " ")).count <= tokens { chosen.append(word) }
            if index > offset + 10 * words.count { throw BenchmarkError("cannot build a sentence of \(tokens) tokens") }
        }
        return chosen.joined(separator: " ")
    }

    private static let prose = """
        A gateway sits between applications and the providers of large language models and forwards each request \
        to a deployment that can answer it quickly and cheaply while keeping a record of what every call cost. \
        When two users ask the same question in different words the cache recognises the meaning of the prompt \
        and returns the stored answer instead of paying for a second completion from the upstream model. \
        Operators choose how close a prompt must be before it counts as a hit and measure the rate of wrong hits \
        on labelled pairs of questions so that the savings never come at the price of a wrong answer.
        """

    private func printReport(_ rows: [ResultRow]) {
        print("Embedding all-MiniLM-L6-v2, one thread")
        print(machineDescription())
        let ours = rows.filter { $0["engine"]?.text == "routershift" }
        let peer = rows.filter { $0["engine"]?.text == "onnxruntime" }
        var table: [[String]] = []
        for tokens in [8, 32, 128] {
            let mine = ours.first { $0.number("tokens") == Double(tokens) && $0.number("batch") == 1 }
            let theirs = peer.first { $0.number("tokens") == Double(tokens) && $0.number("batch") == 1 }
            table.append([
                "latency p50, \(tokens) tokens (ms)", mine?["latency_ms_p50"]?.text ?? "-",
                theirs?["latency_ms_p50"]?.text ?? "-",
                ratio(mine?.number("latency_ms_p50"), theirs?.number("latency_ms_p50")),
            ])
        }
        let mine = ours.first { $0.number("batch") == 32 }
        let theirs = peer.first { $0.number("batch") == 32 }
        table.append([
            "batch of 32 x 32 tokens (sentences/s)", mine?["sentences_per_s"]?.text ?? "-",
            theirs?["sentences_per_s"]?.text ?? "-",
            ratio(mine?.number("sentences_per_s"), theirs?.number("sentences_per_s")),
        ])
        let memory = ours.first { $0["peak_rss_mb"] != nil }
        let peerMemory = peer.first { $0["peak_rss_mb"] != nil }
        table.append([
            "peak RSS (MB)", memory?["peak_rss_mb"]?.text ?? "-", peerMemory?["peak_rss_mb"]?.text ?? "-", "-",
        ])
        table.append(["RSS beyond the weights file (MB)", memory?["rss_beyond_weights_mb"]?.text ?? "-", "-", "-"])
        table.append(["owned: fused weights + workspace (MB)", memory?["owned_mb"]?.text ?? "-", "-", "-"])
        printTable(title: "", columns: ["figure", "routershift", "onnxruntime", "ratio"], rows: table)
    }
}
