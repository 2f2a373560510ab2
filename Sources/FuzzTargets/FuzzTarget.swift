import Canonical
import Protocols

/// One fuzzed parser: a name, and a function that feeds it one input.
///
/// The functions check properties, not only that nothing crashes: a parse round-trips through the
/// serialiser, the canonical form is a fixed point, chunking does not change what a streaming parser reads.
/// A broken property traps, which libFuzzer reports as a crash with the input that caused it.
public struct FuzzTarget: Sendable {
    public let name: String
    /// What the target feeds its input to.
    public let summary: String
    private let body: @Sendable (UnsafeRawBufferPointer) -> Void

    init(_ name: String, _ summary: String, _ body: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
        self.name = name
        self.summary = summary
        self.body = body
    }

    /// Feeds `input` to the target's parser.
    public func run(_ input: UnsafeRawBufferPointer) {
        body(input)
    }

    /// Every target: the JSON parser, one per chat codec, the SSE parser, the multipart scanner, the
    /// WordPiece tokenizer and the YAML configuration loader.
    public static let all: [FuzzTarget] =
        [json] + ChatCodecs.all.map(codec) + [serverSentEvents, multipart, wordPiece, configuration]

    public static func named(_ name: String) -> FuzzTarget? {
        all.first { $0.name == name }
    }
}

/// A property a fuzz target checks; its failure is a finding.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz property broken: \(message())") }
}

/// The first byte of an input as a chunk size for a streaming parser, 1 to 64, and the rest as its input.
func splitChunkSize(_ input: UnsafeRawBufferPointer) -> (size: Int, rest: UnsafeRawBufferPointer) {
    guard let first = input.first else { return (1, input) }
    return (Int(first % 64) + 1, UnsafeRawBufferPointer(rebasing: input.dropFirst()))
}
