import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A `.safetensors` file mapped read-only into memory: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the data. Tensors are read in place, never copied.
final class SafeTensors: @unchecked Sendable {
    struct TensorInfo: Decodable {
        let dtype: String
        let shape: [Int]
        let dataOffsets: [Int]

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }
    }

    private let base: UnsafeRawPointer
    private let length: Int
    private let dataStart: Int
    private let tensors: [String: TensorInfo]

    /// Maps `url`; its pages load on first use and are shared with every other process mapping the file.
    ///
    /// - Throws: ``EmbeddingError/modelUnreadable(_:)`` if the file is missing, truncated or not safetensors.
    init(contentsOf url: URL) throws {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else { throw EmbeddingError.modelUnreadable("cannot open \(url.path)") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size > 8 else {
            throw EmbeddingError.modelUnreadable("\(url.path) is empty or unreadable")
        }
        length = Int(status.st_size)
        guard let mapping = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw EmbeddingError.modelUnreadable("cannot map \(url.path)")
        }
        base = UnsafeRawPointer(mapping)
        let headerLength = Int(UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
        guard headerLength > 0, 8 + headerLength <= length else {
            munmap(mapping, length)
            throw EmbeddingError.modelUnreadable("\(url.path) has a damaged header")
        }
        dataStart = 8 + headerLength
        let header = Data(bytes: base + 8, count: headerLength)
        do {
            let object = try JSONSerialization.jsonObject(with: header) as? [String: Any] ?? [:]
            var tensors: [String: TensorInfo] = [:]
            for (name, value) in object where name != "__metadata__" {
                let json = try JSONSerialization.data(withJSONObject: value)
                tensors[name] = try JSONDecoder().decode(TensorInfo.self, from: json)
            }
            self.tensors = tensors
        } catch {
            munmap(mapping, length)
            throw EmbeddingError.modelUnreadable("\(url.path) has an unreadable header: \(error)")
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), length) }

    /// The Float32 tensor `name`, checked against `shape`.
    func floats(_ name: String, shape: [Int]) throws -> UnsafePointer<Float> {
        guard let info = tensors[name] else { throw EmbeddingError.modelUnreadable("model lacks tensor \(name)") }
        guard info.dtype == "F32", info.shape == shape, info.dataOffsets.count == 2 else {
            throw EmbeddingError.modelUnreadable("tensor \(name) is \(info.dtype) \(info.shape), expected F32 \(shape)")
        }
        let start = dataStart + info.dataOffsets[0]
        let end = dataStart + info.dataOffsets[1]
        guard end <= length, end - start == shape.reduce(1, *) * 4, start % 4 == 0 else {
            throw EmbeddingError.modelUnreadable("tensor \(name) lies outside the file or is misaligned")
        }
        return (base + start).assumingMemoryBound(to: Float.self)
    }
}
