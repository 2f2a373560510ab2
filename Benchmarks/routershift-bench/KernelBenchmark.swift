import ArgumentParser
import BenchmarkSupport
import CBLAS
import CNeuralKernels
import CVectorKernels
import Foundation

/// Times the distance kernels against BLAS, to decide which serves which access pattern.
struct KernelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract:
            "Dot products (SIMD against cblas_sdot, sgemv against the SIMD loop) and the encoder's linear layers "
            + "(packed fp32 and int8 against cblas_sgemm).")

    @Option(help: "Rows in the scanned matrix.") var n = 100_000
    @Option(help: "Dimension.") var dim = 384
    @OptionGroup var output: OutputOptions

    func run() throws {
        // Option properties are read through a generic wrapper: copy them out of the timed loops.
        let (n, dim) = (self.n, self.dim)
        var source = ClusteredVectors(dimension: dim, clusters: 100, seed: 1)
        let matrix = source.make(n).flatMap { $0 }
        let query = source.next().vector
        var scores = [Float](repeating: 0, count: n)
        var rows: [ResultRow] = []
        func record(_ kernel: String, _ pattern: String, nanosecondsPerRow: Double) {
            rows.append(
                ResultRow([
                    ("engine", .string("routershift")), ("kernel", .string(kernel)), ("pattern", .string(pattern)),
                    ("ns_per_row", .double(nanosecondsPerRow, digits: 1)),
                ]))
        }

        // One pair, hot in cache: what a graph walk does for each neighbour.
        let pairs = 2_000_000
        let pairRows = UnsafeMutablePointer<Float>.allocate(capacity: 64 * dim)
        let queryRow = UnsafeMutablePointer<Float>.allocate(capacity: dim)
        defer {
            pairRows.deallocate()
            queryRow.deallocate()
        }
        pairRows.initialize(from: matrix, count: 64 * dim)
        queryRow.initialize(from: query, count: dim)
        var sink: Float = 0
        let simdPair = seconds {
            var sum: Float = 0
            for index in 0..<pairs { sum += rs_dot(queryRow, pairRows + (index & 63) * dim, dim) }
            sink += sum
        }
        let blasPair = seconds {
            var sum: Float = 0
            for index in 0..<pairs { sum += cblas_sdot(Int32(dim), queryRow, 1, pairRows + (index & 63) * dim, 1) }
            sink += sum
        }
        record(String(cString: rs_kernel_name()), "pair, in cache", nanosecondsPerRow: simdPair * 1e9 / Double(pairs))
        record("cblas_sdot", "pair, in cache", nanosecondsPerRow: blasPair * 1e9 / Double(pairs))

        // Every row of a matrix larger than the caches: exact search.
        let passes = 5
        let gemv = seconds {
            for _ in 0..<passes {
                cblas_sgemv(
                    CblasRowMajor, CblasNoTrans, Int32(n), Int32(dim), 1, matrix, Int32(dim), query, 1, 0, &scores, 1)
            }
        }
        let simdScan = seconds {
            for _ in 0..<passes {
                matrix.withUnsafeBufferPointer { base in
                    scores.withUnsafeMutableBufferPointer { out in
                        var row = 0
                        while row + 4 <= n {
                            let p = base.baseAddress! + row * dim
                            rs_dot4(query, p, p + dim, p + 2 * dim, p + 3 * dim, dim, out.baseAddress! + row)
                            row += 4
                        }
                    }
                }
            }
        }
        record("cblas_sgemv", "scan \(n) rows", nanosecondsPerRow: gemv * 1e9 / Double(passes * n))
        record("rs_dot4", "scan \(n) rows", nanosecondsPerRow: simdScan * 1e9 / Double(passes * n))
        if sink == 42 { progress("") }  // keeps the pair loops from being optimised away
        rows += measureGEMM()

        if output.json {
            rows.forEach { print($0.jsonLine()) }
        } else {
            print(machineDescription())
            printTable(
                title: "Dot-product kernels, \(dim) dimensions, one thread",
                columns: ["kernel", "pattern", "ns/row"],
                rows: rows.filter { $0["ns_per_row"] != nil }.map { row in
                    ["kernel", "pattern", "ns_per_row"].map { row[$0]?.text ?? "-" }
                })
            printTable(
                title: "Linear layers of MiniLM (384->1152, 384->384, 384->1536, 1536->384), one thread",
                columns: [
                    "tokens", "packed GFLOP/s", "cblas_sgemm GFLOP/s", "int8 GOP/s", "packed / sgemm", "int8 / sgemm",
                ],
                rows: rows.filter { $0["gflops_sgemm"] != nil }.map { row in
                    [
                        row["tokens"]?.text ?? "-", row["gflops_packed"]?.text ?? "-", row["gflops_sgemm"]?.text ?? "-",
                        row["gops_int8"]?.text ?? "-", ratio(row.number("gflops_packed"), row.number("gflops_sgemm")),
                        ratio(row.number("gops_int8"), row.number("gflops_sgemm")),
                    ]
                })
        }
    }

    /// The encoder's four linear shapes at several token counts: the packed fp32 kernel (AVX-512 CPUs) and
    /// the int8-weight kernel (quantising its input rows included) against `cblas_sgemm`.
    private func measureGEMM() -> [ResultRow] {
        let shapes = [(1152, 384), (384, 384), (1536, 384), (384, 1536)]
        var generator = SeededGenerator(seed: 3)
        let int8 = rs_int8_best_kernel()
        return [8, 32, 128, 1024].map { tokens in
            var packedSeconds = 0.0
            var blasSeconds = 0.0
            var int8Seconds = 0.0
            var flops = 0.0
            for (outputs, inputs) in shapes {
                let weights = (0..<outputs * inputs).map { _ in generator.nextGaussian() * 0.05 }
                let input = (0..<tokens * inputs).map { _ in generator.nextGaussian() }
                let bias = [Float](repeating: 0.1, count: outputs)
                let packed = UnsafeMutableRawPointer.allocate(byteCount: outputs * inputs * 4, alignment: 64)
                    .bindMemory(to: Float.self, capacity: outputs * inputs)
                defer { packed.deallocate() }
                var result = [Float](repeating: 0, count: tokens * outputs)
                let repeats = tokens <= 128 ? 100 : 5
                if rs_packed_gemm_available() != 0 {
                    rs_pack_weights(weights, outputs, inputs, packed)
                    packedSeconds +=
                        seconds {
                            for _ in 0..<repeats {
                                rs_gemm_packed(input, tokens, inputs, packed, bias, outputs, &result)
                            }
                        } / Double(repeats)
                }
                if int8 != RS_INT8_NONE {
                    let panels = UnsafeMutableRawPointer.allocate(byteCount: outputs * inputs, alignment: 64)
                        .bindMemory(to: Int8.self, capacity: outputs * inputs)
                    let rowsBuffer = UnsafeMutableRawPointer.allocate(byteCount: 2 * tokens * inputs, alignment: 64)
                    defer {
                        panels.deallocate()
                        rowsBuffer.deallocate()
                    }
                    var scales = [Float](repeating: 0, count: outputs)
                    var sums = [Int32](repeating: 0, count: outputs)
                    var rowScales = [Float](repeating: 0, count: tokens)
                    rs_quantize_weights(int8, weights, outputs, inputs, panels, &scales, &sums)
                    int8Seconds +=
                        seconds {
                            for _ in 0..<repeats {
                                rs_quantize_rows(int8, input, tokens, inputs, rowsBuffer, &rowScales)
                                rs_gemm_int8(
                                    int8, rowsBuffer, rowScales, tokens, inputs, panels, scales, sums, bias, outputs,
                                    &result)
                            }
                        } / Double(repeats)
                }
                blasSeconds +=
                    seconds {
                        for _ in 0..<repeats {
                            cblas_sgemm(
                                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(tokens), Int32(outputs), Int32(inputs),
                                1, input,
                                Int32(inputs), weights, Int32(inputs), 0, &result, Int32(outputs))
                        }
                    } / Double(repeats)
                flops += 2 * Double(tokens * outputs * inputs)
            }
            var row = ResultRow([
                ("engine", .string("routershift")), ("kernel", .string("linear")), ("tokens", .int(tokens)),
                ("gflops_sgemm", .double(flops / blasSeconds / 1e9, digits: 0)),
            ])
            if packedSeconds > 0 { row.set("gflops_packed", .double(flops / packedSeconds / 1e9, digits: 0)) }
            if int8Seconds > 0 { row.set("gops_int8", .double(flops / int8Seconds / 1e9, digits: 0)) }
            return row
        }
    }
}
