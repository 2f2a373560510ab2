import ArgumentParser
import Embedding
import Foundation
import Tokenizer

struct EmbedBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract:
            "Latency of one sentence of 8, 32 and 128 tokens and throughput of a batch of 32, beside onnxruntime.",
        discussion: """
            Engines: RouterShift fp32 and int8, onnxruntime fp32 and onnxruntime's int8 dynamic quantisation, all \
            on one thread. They run in alternating rounds (each round times every engine on every case, starting \
            with a different engine each round), so a noisy phase of a shared machine falls on all of them. Wall \
            and CPU time are both reported; a ratio that holds in CPU time is not the machine's noise.
            """
    )

    @Option(help: "Directory of the model files.") var modelDir = ModelFiles.defaultDirectory
    @Option(help: "Rounds of every engine on every case.") var rounds = 20
    @Option(help: "Timed single-sentence calls per engine, case and round (a fifth of that for the batch).")
    var calls = 10
    @Option(help: "Untimed calls per engine and case before the first round.") var warmup = 10
    @Option(help: "RouterShift precisions to run (fp32, int8; int8 only where the CPU has a kernel for it).")
    var precision: [String] = ["fp32", "int8"]
    @Option(help: "Tokens of the single sentences.") var tokens: [Int] = [8, 32, 128]
    @Option(help: "Sentences of 32 tokens in the batch case; 0 skips it.") var batchSize = 32
    @OptionGroup var output: OutputOptions

    private struct Case {
        let tokens: Int
        let texts: [String]
        var batch: Int { texts.count }
    }

    func run() async throws {
        let (rounds, calls, warmup) = (max(self.rounds, 1), max(self.calls, 1), max(self.warmup, 0))
        var precisions: [EmbeddingPrecision] = []
        for name in precision {
            guard let value = EmbeddingPrecision(rawValue: name), value != .auto else {
                throw ValidationError("--precision must be fp32 or int8, not \(name)")
            }
            if value != .int8 || EmbeddingPrecision.int8KernelName != nil { precisions.append(value) }
        }
        let local = try precisions.map { try LocalEmbedEngine(modelDirectory: modelDir, precision: $0) }
        guard let tokenizer = local.first?.embedder.tokenizer else {
            throw ValidationError("no RouterShift precision to run on this CPU")
        }
        var engines: [any EmbedEngine] = local
        var cases = try tokens.map {
            Case(tokens: $0, texts: [try sentence(ofTokens: $0, startingAt: 0, tokenizer: tokenizer)])
        }
        guard batchSize != 1 else { throw ValidationError("--batch-size must be 0 or at least 2") }
        if batchSize > 0 {
            let texts = try (0..<batchSize).map {
                try sentence(ofTokens: 32, startingAt: $0 * 7 + 3, tokenizer: tokenizer)
            }
            cases.append(Case(tokens: 32, texts: texts))
        }
        var peer: OnnxRuntimePeer?
        defer { peer?.stop() }
        if !output.noPeer {
            progress("onnxruntime: starting the peer (exports and quantises the model once)")
            let started = try OnnxRuntimePeer(modelDirectory: modelDir)
            peer = started
            engines += ["fp32", "int8"].map { PeerEmbedEngine(peer: started, precision: $0) }
        }

        for engine in engines {
            for item in cases {
                _ = try await engine.time(item.texts, calls: 1, warmup: item.batch == 1 ? warmup : max(warmup / 5, 1))
            }
        }
        var samples = [[[(wall: Double, cpu: Double)]]](
            repeating: [[(wall: Double, cpu: Double)]](repeating: [], count: cases.count), count: engines.count)
        for round in 0..<rounds {
            progress("round \(round + 1) of \(rounds)")
            for (caseIndex, item) in cases.enumerated() {
                let timed = item.batch == 1 ? calls : max(calls / 5, 1)
                for offset in 0..<engines.count {
                    let index = (round + offset) % engines.count
                    samples[index][caseIndex] += try await engines[index].time(item.texts, calls: timed, warmup: 0)
                }
            }
        }
        peer?.stop()

        let cpu = HostCPU.modelName
        var rows: [ResultRow] = []
        for (index, engine) in engines.enumerated() {
            for (caseIndex, item) in cases.enumerated() {
                let wall = samples[index][caseIndex].map(\.wall)
                let cpuTimes = samples[index][caseIndex].map(\.cpu)
                var row = ResultRow([
                    ("engine", .string(engine.engine)), ("precision", .string(engine.precision)),
                    ("default", .bool(engine.isDefault)), ("tokens", .int(item.tokens)), ("batch", .int(item.batch)),
                    ("calls", .int(wall.count)),
                ])
                if item.batch == 1 {
                    row.set("latency_ms_p50", .double(percentile(wall, 0.5) * 1e3, digits: 2))
                    row.set("latency_ms_p99", .double(percentile(wall, 0.99) * 1e3, digits: 2))
                    row.set("cpu_ms_p50", .double(percentile(cpuTimes, 0.5) * 1e3, digits: 2))
                } else {
                    row.set("sentences_per_s", .double(Double(item.batch) / percentile(wall, 0.5), digits: 1))
                    row.set("sentences_per_cpu_s", .double(Double(item.batch) / percentile(cpuTimes, 0.5), digits: 1))
                }
                row.set("cpu", .string(cpu))
                if engine.engine == "routershift" {
                    row.set("int8_kernel", .string(EmbeddingPrecision.int8KernelName ?? "none"))
                } else if let peer {
                    row.set("version", .string(peer.version))
                }
                rows.append(row)
            }
        }
        if output.json {
            rows.forEach { print($0.jsonLine()) }
        } else {
            printReport(rows, rounds: rounds)
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

    private func printReport(_ rows: [ResultRow], rounds: Int) {
        print("Embedding all-MiniLM-L6-v2, one thread, \(rounds) alternating rounds")
        print(machineDescription() + ", int8 kernel \(EmbeddingPrecision.int8KernelName ?? "none")")
        print(
            "instructions: not counted by this benchmark (perf stat or valgrind --tool=callgrind count them where the CPU allows)"
        )
        let columns = [
            ("routershift", "fp32"), ("routershift", "int8"), ("onnxruntime", "fp32"), ("onnxruntime", "int8"),
        ]
        func row(_ engine: (String, String), tokens: Int, batch: Int) -> ResultRow? {
            rows.first {
                $0["engine"]?.text == engine.0 && $0["precision"]?.text == engine.1
                    && $0.number("tokens") == Double(tokens) && $0.number("batch") == Double(batch)
            }
        }
        var table: [[String]] = []
        func line(_ label: String, tokens: Int, batch: Int, figure: String) {
            let values = columns.map { row($0, tokens: tokens, batch: batch)?.number(figure) }
            table.append(
                [label] + values.map { $0.map { String(format: "%.2f", $0) } ?? "-" } + [
                    ratio(values[1], values[2]), ratio(values[1], values[3]), ratio(values[0], values[2]),
                ])
        }
        for tokens in self.tokens {
            line("latency p50, \(tokens) tokens (ms)", tokens: tokens, batch: 1, figure: "latency_ms_p50")
            line("  CPU p50, \(tokens) tokens (ms)", tokens: tokens, batch: 1, figure: "cpu_ms_p50")
        }
        line("batch of \(batchSize) x 32 tokens (sentences/s)", tokens: 32, batch: batchSize, figure: "sentences_per_s")
        line("  per CPU second", tokens: 32, batch: batchSize, figure: "sentences_per_cpu_s")
        let automatic = EmbeddingPrecision.automatic.rawValue
        printTable(
            title: "shipped default: precision auto, which takes \(automatic) on this CPU",
            columns: [
                "figure", "rs fp32", "rs int8", "ort fp32", "ort int8", "rs int8 / ort fp32", "rs int8 / ort int8",
                "rs fp32 / ort fp32",
            ], rows: table)
    }
}
