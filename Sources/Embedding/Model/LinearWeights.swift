import CBLAS
import CNeuralKernels

/// The instructions of the int8-weight GEMM (`rs_gemm_int8`; QuantizedGemm.c says how each works).
enum Int8Kernel: Sendable, Equatable, CaseIterable {
    /// vpmaddwd on weights widened to 16 bits as they load.
    case avx2
    /// vpdpbusd on activations split into two unsigned bytes.
    case avx512VNNI

    var instructions: rs_int8_kernel { self == .avx2 ? RS_INT8_AVX2 : RS_INT8_AVX512_VNNI }

    /// The best kernel this CPU runs, if any.
    static var best: Int8Kernel? {
        switch rs_int8_best_kernel() {
        case RS_INT8_AVX512_VNNI: .avx512VNNI
        case RS_INT8_AVX2: .avx2
        default: nil
        }
    }

    /// Every kernel this CPU runs (a CPU with AVX-512 VNNI also has AVX2).
    static var available: [Int8Kernel] {
        switch best {
        case .avx512VNNI: [.avx2, .avx512VNNI]
        case .avx2: [.avx2]
        case nil: []
        }
    }

    var name: String { self == .avx2 ? "avx2" : "avx512-vnni" }
}

/// Which GEMM the encoder's linear layers use.
enum LinearKernel: Sendable, Equatable {
    /// Weights packed once at load, multiplied by the AVX-512 kernel of CNeuralKernels, which stays near
    /// the core's peak from one short sentence to large batches, where `cblas_sgemm` packs the weights again
    /// on every call and loses most of its speed on a few rows (`routershift-bench kernels` prints both on
    /// MiniLM's four shapes; figures in BENCHMARKS.md).
    case packed
    /// `cblas_sgemm` on the weights as stored: CPUs without AVX-512.
    case blas
    /// Weights quantised to int8 per output channel at load, activations per row on every call, products
    /// summed exactly in int32 by the named kernel (`rs_gemm_int8`).
    case int8(Int8Kernel)

    /// The fp32 kernel for this CPU.
    static var automatic: LinearKernel { rs_packed_gemm_available() != 0 ? .packed : .blas }

    /// The kernel that computes `precision` on this CPU.
    ///
    /// - Throws: ``EmbeddingError/unsupported(_:)`` for int8 on a CPU without AVX2.
    static func forPrecision(_ precision: EmbeddingPrecision) throws -> LinearKernel {
        switch precision.resolved {
        case .int8:
            guard let best = Int8Kernel.best else {
                throw EmbeddingError.unsupported(
                    "embedding precision int8 needs AVX2 or AVX-512 VNNI, which this CPU lacks: use fp32 or auto")
            }
            return .int8(best)
        case .auto, .fp32: return .automatic
        }
    }
}

/// One linear layer, y = x Wᵀ + b, with W stored [outputs, inputs] as PyTorch saves it.
final class LinearWeights: @unchecked Sendable {
    private typealias Quantized = (
        panels: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Int32>
    )

    let inputs: Int
    let outputs: Int
    let kernel: LinearKernel
    /// [outputs, inputs]; used by the BLAS kernel.
    private let weights: UnsafePointer<Float>
    private let bias: UnsafePointer<Float>
    /// Panels for the packed kernel.
    private let packed: UnsafeMutablePointer<Float>?
    /// Panels, per-output scales and weight sums for the int8 kernel.
    private let quantized: Quantized?
    /// Buffers this layer allocated (the rest is mapped from the model file).
    private let owned: [UnsafeMutableRawPointer]
    let ownedBytes: Int

    /// Stacks the row blocks `parts` (each [rows, inputs]) into one layer, as query, key and value become
    /// one projection; a single part is used in place. An int8 kernel needs outputs of each part a multiple
    /// of 32 and inputs a multiple of 4 up to 8192 (BERT's are); a layer that is not falls back to fp32.
    init(
        parts: [(weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, outputs: Int)], inputs: Int,
        kernel requested: LinearKernel
    ) {
        self.inputs = inputs
        outputs = parts.reduce(0) { $0 + $1.outputs }
        let quantizable = inputs % 4 == 0 && inputs <= 8192 && parts.allSatisfy { $0.outputs % 32 == 0 }
        let kernel: LinearKernel
        if case .int8 = requested, !quantizable { kernel = .automatic } else { kernel = requested }
        self.kernel = kernel
        var owned: [UnsafeMutableRawPointer] = []
        var ownedBytes = 0
        func allocate<Element>(_ count: Int, of _: Element.Type) -> UnsafeMutablePointer<Element> {
            let bytes = count * MemoryLayout<Element>.stride
            let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            owned.append(raw)
            ownedBytes += bytes
            return raw.bindMemory(to: Element.self, capacity: count)
        }
        if parts.count == 1 {
            weights = parts[0].weights
            bias = parts[0].bias
        } else {
            let stackedBias = allocate(outputs, of: Float.self)
            var row = 0
            for part in parts {
                (stackedBias + row).update(from: part.bias, count: part.outputs)
                row += part.outputs
            }
            bias = UnsafePointer(stackedBias)
            if kernel == .blas {
                let stacked = allocate(outputs * inputs, of: Float.self)
                row = 0
                for part in parts {
                    (stacked + row * inputs).update(from: part.weights, count: part.outputs * inputs)
                    row += part.outputs
                }
                weights = UnsafePointer(stacked)
            } else {
                weights = parts[0].weights
            }
        }
        var packed: UnsafeMutablePointer<Float>?
        var quantized: Quantized?
        switch kernel {
        case .packed:
            let panels = allocate(outputs * inputs, of: Float.self)
            var row = 0
            for part in parts {
                rs_pack_weights(part.weights, part.outputs, inputs, panels + row * inputs)
                row += part.outputs
            }
            packed = panels
        case .int8(let int8):
            let instructions = int8.instructions
            let panels = allocate(outputs * inputs, of: Int8.self)
            let scales = allocate(outputs, of: Float.self)
            let sums = allocate(outputs, of: Int32.self)
            var row = 0
            for part in parts {
                rs_quantize_weights(
                    instructions, part.weights, part.outputs, inputs, panels + row * inputs, scales + row, sums + row)
                row += part.outputs
            }
            quantized = (panels, scales, sums)
        case .blas:
            break
        }
        self.packed = packed
        self.quantized = quantized
        self.owned = owned
        self.ownedBytes = ownedBytes
    }

    deinit { owned.forEach { $0.deallocate() } }

    /// output [rows, outputs] = input [rows, inputs] · Wᵀ + b, then exact GELU if `gelu`, in a second pass
    /// (applying it to each tile as the int8 kernel stores it measured slower: BENCHMARKS.md).
    ///
    /// - Parameter workspace: holds the quantised rows of `input` for the int8 kernel.
    func apply(
        _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
        workspace: EncoderWorkspace, gelu: Bool = false
    ) {
        switch kernel {
        case .int8(let int8):
            let instructions = int8.instructions
            guard let quantized else { preconditionFailure("int8 layer without quantised weights") }
            rs_quantize_rows(instructions, input, rows, inputs, workspace.quantizedRows, workspace.rowScales)
            rs_gemm_int8(
                instructions, workspace.quantizedRows, workspace.rowScales, rows, inputs, quantized.panels,
                quantized.scales, quantized.sums, bias, outputs, output)
        case .packed:
            guard let packed else { preconditionFailure("packed layer without panels") }
            rs_gemm_packed(input, rows, inputs, packed, bias, outputs, output)
        case .blas:
            for row in 0..<rows { (output + row * outputs).update(from: bias, count: outputs) }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1, input,
                Int32(inputs), weights, Int32(inputs), 1, output, Int32(outputs))
        }
        if gelu { rs_gelu_erf(output, rows * outputs) }
    }
}
