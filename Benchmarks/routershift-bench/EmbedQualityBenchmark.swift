import ArgumentParser
import Embedding
import Foundation

/// What quantisation costs in retrieval quality: QQP average precision of cosine similarity per precision.
struct EmbedQualityBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed-quality",
        abstract: "Average precision of cosine similarity on labelled pairs, fp32 against int8.",
        discussion: """
            --pairs reads a CSV with the columns question1,question2,is_duplicate (QQP's validation split, for \
            example). Pairs are ranked by the cosine of their two vectors; average precision is the mean of the \
            precision at each duplicate, as `routershift cache bench` computes it. Also prints how close each \
            int8 vector is to the fp32 vector of the same text.
            """
    )

    @Option(help: "Directory of the model files.") var modelDir = ModelFiles.defaultDirectory
    @Option(help: "Labelled pairs: CSV question1,question2,is_duplicate.") var pairs: String
    @Option(help: "Use only the first N pairs.") var limit: Int?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let labelled = try Self.load(pairs, limit: limit)
        let texts = Array(Set(labelled.flatMap { [$0.0, $0.1] })).sorted()
        progress("\(labelled.count) pairs, \(texts.count) distinct texts")
        var precisions: [EmbeddingPrecision] = [.fp32]
        if EmbeddingPrecision.int8KernelName != nil { precisions.append(.int8) }
        var vectors: [EmbeddingPrecision: [String: [Float]]] = [:]
        var rows: [ResultRow] = []
        for precision in precisions {
            let embedder = try LocalEmbedder(
                files: ModelFiles(directory: URL(fileURLWithPath: modelDir)), precision: precision)
            progress("embedding with \(precision)")
            var table: [String: [Float]] = [:]
            for start in stride(from: 0, to: texts.count, by: 64) {
                let chunk = Array(texts[start..<min(start + 64, texts.count)])
                for (text, vector) in zip(chunk, try await embedder.embed(chunk)) { table[text] = vector }
            }
            vectors[precision] = table
            let scores = labelled.map { Double(dot(table[$0.0]!, table[$0.1]!)) }
            rows.append(
                ResultRow([
                    ("engine", .string("routershift")), ("precision", .string(precision.rawValue)),
                    ("default", .bool(precision == EmbeddingPrecision.automatic)), ("pairs", .int(labelled.count)),
                    ("duplicates", .int(labelled.filter(\.2).count)),
                    (
                        "average_precision",
                        .double(Self.averagePrecision(scores: scores, labels: labelled.map(\.2)), digits: 4)
                    ),
                ]))
        }
        if let fp32 = vectors[.fp32], let int8 = vectors[.int8] {
            let similarities = texts.map { Double(dot(fp32[$0]!, int8[$0]!)) }
            rows[1].set("cosine_to_fp32_min", .double(similarities.min() ?? .nan, digits: 5))
            rows[1].set("cosine_to_fp32_p01", .double(percentile(similarities, 0.01), digits: 5))
            rows[1].set("cosine_to_fp32_mean", .double(similarities.reduce(0, +) / Double(texts.count), digits: 5))
            rows[1].set(
                "average_precision_minus_fp32",
                .double(rows[1].number("average_precision")! - rows[0].number("average_precision")!, digits: 4))
        }
        if output.json {
            rows.forEach { print($0.jsonLine()) }
        } else {
            print("Average precision of cosine similarity on \(pairs), all-MiniLM-L6-v2")
            print(machineDescription() + ", int8 kernel \(EmbeddingPrecision.int8KernelName ?? "none")")
            let names = [
                "average_precision", "average_precision_minus_fp32", "cosine_to_fp32_min", "cosine_to_fp32_p01",
                "cosine_to_fp32_mean",
            ]
            printTable(
                title: "", columns: ["precision", "pairs"] + names,
                rows: rows.map { row in
                    [row["precision"]?.text ?? "-", row["pairs"]?.text ?? "-"] + names.map { row[$0]?.text ?? "-" }
                })
        }
    }

    /// The mean of the precision at each duplicate, pairs ranked by score.
    static func averagePrecision(scores: [Double], labels: [Bool]) -> Double {
        var (seen, hits, sum) = (0, 0, 0.0)
        for index in scores.indices.sorted(by: { scores[$0] > scores[$1] }) {
            seen += 1
            if labels[index] {
                hits += 1
                sum += Double(hits) / Double(seen)
            }
        }
        return hits == 0 ? 0 : sum / Double(hits)
    }

    /// (question1, question2, is_duplicate) rows of a CSV with that header.
    static func load(_ path: String, limit: Int?) throws -> [(String, String, Bool)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw BenchmarkError("cannot read \(path)")
        }
        let rows = csvRows(text)
        guard rows.first == ["question1", "question2", "is_duplicate"] else {
            throw BenchmarkError("\(path) does not start with the header question1,question2,is_duplicate")
        }
        var pairs: [(String, String, Bool)] = []
        for (number, row) in rows.dropFirst().enumerated() where row != [""] {
            guard row.count == 3, row[2] == "0" || row[2] == "1" else {
                throw BenchmarkError("\(path) row \(number + 2) is not question1,question2,0|1")
            }
            pairs.append((row[0], row[1], row[2] == "1"))
            if let limit, pairs.count >= limit { break }
        }
        guard !pairs.isEmpty else { throw BenchmarkError("\(path) holds no pairs") }
        return pairs
    }

    /// RFC 4180 fields: quoted fields may hold commas, doubled quotes and newlines.
    static func csvRows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var previousWasQuote = false
        for scalar in text.unicodeScalars {
            if quoted {
                if scalar == "\"" {
                    quoted = false
                    previousWasQuote = true
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"":
                if previousWasQuote { field.unicodeScalars.append("\"") }
                quoted = true
            case ",":
                row.append(field)
                field = ""
            case "\n":
                row.append(field.hasSuffix("\r") ? String(field.dropLast()) : field)
                rows.append(row)
                (row, field) = ([], "")
            default: field.unicodeScalars.append(scalar)
            }
            previousWasQuote = false
        }
        if !field.isEmpty || !row.isEmpty { rows.append(row + [field]) }
        return rows
    }
}

private func dot(_ a: [Float], _ b: [Float]) -> Float {
    var sum: Float = 0
    for index in a.indices { sum += a[index] * b[index] }
    return sum
}
