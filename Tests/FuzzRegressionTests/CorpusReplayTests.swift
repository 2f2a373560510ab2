import Foundation
import FuzzTargets
import Testing

/// Every committed fuzz input, seeds and past crashes alike, replayed through its target in the ordinary
/// build: a crash the fuzzer once found stays fixed, and the seeds keep matching what the parsers accept.
@Suite struct CorpusReplayTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(_ folder: String, target: String) -> [URL] {
        let directory = fuzzFolder.appendingPathComponent(folder).appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") }.map { directory.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.all.map(\.name)) func seedsAndRegressionsRunClean(target name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let seeds = Self.inputs("corpus", target: name)
        #expect(!seeds.isEmpty, "no seeds committed for \(name) in Fuzz/corpus/\(name)")
        for file in seeds + Self.inputs("regressions", target: name) {
            let bytes = try Data(contentsOf: file)
            bytes.withUnsafeBytes { target.run($0) }
        }
    }
}
