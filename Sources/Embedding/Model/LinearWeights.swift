import CBLAS
import CNeuralKernels

/// Which GEMM the encoder's linear layers use.
enum LinearKernel: Sendable {
    /// Weights packed once at load, multiplied by the AVX-512 kernel of CNeuralKernels, which stays near
    /// the core's peak from one short sentence to large batches, where `cblas_sgemm` packs the weights again
    /// on every call and loses most of its speed on a few rows (`routershift-bench kernels` prints both on
    /// MiniLM's four shapes; figures in BENCHMARKS.md).
    case packed
    /// `cblas_sgemm` on the weights as stored: CPUs without AVX-512.
    case blas

    static var automatic: LinearKernel { rs_packed_gemm_available() != 0 ? .packed : .blas }
}

/// One linear layer, y = x Wᵀ + b, with W stored [outputs, inputs] as PyTorch saves it.
final class LinearWeights: @unchecked Sendable {
    let inputs: Int
    let outputs: Int
    let kernel: LinearKernel
    /// [outputs, inputs]; used by the BLAS kernel.
    private let weights: UnsafePointer<Float>
    private let bias: UnsafePointer<Float>
    /// Panels for the packed kernel.
    private let packed: UnsafeMutablePointer<Float>?
    /// Buffers this layer allocated (the rest is mapped from the model file).
    private let owned: [UnsafeMutableRawPointer]
    let ownedBytes: Int

    /// Stacks the row blocks `parts` (each [rows, inputs]) into one layer, as query, key and value become
    /// one projection; a single part is used in place.
    init(
        parts: [(weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, outputs: Int)], inputs: Int,
        kernel: LinearKernel
    ) {
        self.inputs = inputs
        self.kernel = kernel
        outputs = parts.reduce(0) { $0 + $1.outputs }
        var owned: [UnsafeMutableRawPointer] = []
        var ownedBytes = 0
        func allocate(_ floats: Int) -> UnsafeMutablePointer<Float> {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * 4, alignment: 64)
            owned.append(raw)
            ownedBytes += floats * 4
            return raw.bindMemory(to: Float.self, capacity: floats)
        }
        if parts.count == 1 {
            weights = parts[0].weights
            bias = parts[0].bias
        } else {
            let stackedBias = allocate(outputs)
            var row = 0
            for part in parts {
                (stackedBias + row).update(from: part.bias, count: part.outputs)
                row += part.outputs
            }
            bias = UnsafePointer(stackedBias)
            if kernel == .blas {
                let stacked = allocate(outputs * inputs)
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
        if kernel == .packed {
            let panels = allocate(outputs * inputs)
            var row = 0
            for part in parts {
                rs_pack_weights(part.weights, part.outputs, inputs, panels + row * inputs)
                row += part.outputs
            }
            packed = panels
        } else {
            packed = nil
        }
        self.owned = owned
        self.ownedBytes = ownedBytes
    }

    deinit { owned.forEach { $0.deallocate() } }

    /// output [rows, outputs] = input [rows, inputs] · Wᵀ + b.
    func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        if let packed {
            rs_gemm_packed(input, rows, inputs, packed, bias, outputs, output)
            return
        }
        for row in 0..<rows { (output + row * outputs).update(from: bias, count: outputs) }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1, input,
            Int32(inputs), weights, Int32(inputs), 1, output, Int32(outputs))
    }
}
