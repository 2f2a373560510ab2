import ArgumentParser
import BenchmarkSupport
import CBLAS
import CVectorKernels
import Foundation

/// Times the distance kernels against BLAS, to decide which serves which access pattern.
struct KernelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Single-pair dot products (SIMD against cblas_sdot) and full scans (sgemv against the SIMD loop).")

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

        if output.json {
            rows.forEach { print($0.jsonLine()) }
        } else {
            print(machineDescription())
            printTable(
                title: "Dot-product kernels, \(dim) dimensions, one thread",
                columns: ["kernel", "pattern", "ns/row"],
                rows: rows.map { row in ["kernel", "pattern", "ns_per_row"].map { row[$0]?.text ?? "-" } })
        }
    }
}
