import Foundation
import NIOCore
import Protocols
import Tokenizer

extension FuzzTarget {
    /// The SSE parser: the events read do not depend on how the bytes were chunked, and no line or event
    /// larger than the limit is held.
    static let serverSentEvents = FuzzTarget("sse", "ServerSentEventParser, whole and in chunks") { input in
        let (size, bytes) = splitChunkSize(input)
        let limit = 256
        func read(chunkedBy size: Int) -> [ServerSentEvent]? {
            var parser = ServerSentEventParser(maxEventBytes: limit)
            var events: [ServerSentEvent] = []
            var start = 0
            while start < bytes.count {
                let end = min(start + size, bytes.count)
                guard let read = try? parser.feed(ByteBuffer(bytes: bytes[start..<end])) else { return nil }
                events += read
                start = end
            }
            guard let last = try? parser.finish() else { return nil }
            return events + last
        }
        let whole = read(chunkedBy: max(bytes.count, 1))
        let chunked = read(chunkedBy: size)
        require(whole == chunked, "chunks of \(size) bytes read other events than the whole input")
        for event in whole ?? [] {
            require(event.data.utf8.count <= limit, "an event of \(event.data.utf8.count) bytes passed the limit")
        }
    }

    /// The multipart scanner: the same parts whatever the chunking, and its work linear in the input.
    static let multipart = FuzzTarget("multipart", "MultipartScanner, whole and in chunks") { input in
        let (size, bytes) = splitChunkSize(input)
        func scan(chunkedBy size: Int) -> (events: [MultipartEvent], steps: Int)? {
            var scanner = MultipartScanner(boundary: "XyZ", maxHeaderBytes: 512)
            var events: [MultipartEvent] = []
            var start = 0
            while start < bytes.count {
                let end = min(start + size, bytes.count)
                guard let scanned = try? scanner.scan(ByteBuffer(bytes: bytes[start..<end])) else { return nil }
                events += scanned
                start = end
            }
            return (events, scanner.steps)
        }
        let whole = scan(chunkedBy: max(bytes.count, 1))
        let chunked = scan(chunkedBy: size)
        require(whole?.events == chunked?.events, "chunks of \(size) bytes scanned other parts than the whole input")
        if let chunked {
            require(chunked.steps <= 2 * bytes.count + 8, "\(chunked.steps) steps for \(bytes.count) bytes")
        }
    }

    /// The WordPiece tokenizer on any text: [CLS] first, [SEP] last, within the length limit, every id in
    /// the vocabulary.
    static let wordPiece = FuzzTarget("wordpiece", "WordPieceTokenizer.encode on arbitrary UTF-8") { input in
        let text = String(decoding: input, as: UTF8.self)
        let ids = fuzzTokenizer.encode(text)
        let vocabulary = fuzzTokenizer.vocabulary
        require(ids.count >= 2 && ids.count <= fuzzTokenizer.maxLength, "\(ids.count) ids")
        require(ids.first == vocabulary.classifier && ids.last == vocabulary.separator, "not framed by [CLS] [SEP]")
        require(ids.allSatisfy { $0 >= 0 && Int($0) < vocabulary.count }, "an id outside the vocabulary")
    }

    /// The shipped model's vocabulary when `ROUTERSHIFT_FUZZ_VOCABULARY` names its `vocab.txt`, else a
    /// small one: the special tokens, ASCII letters and digits, and their `##` continuations.
    private static let fuzzTokenizer: WordPieceTokenizer = {
        if let path = ProcessInfo.processInfo.environment["ROUTERSHIFT_FUZZ_VOCABULARY"],
            let vocabulary = try? Vocabulary(contentsOf: URL(fileURLWithPath: path))
        {
            return WordPieceTokenizer(vocabulary: vocabulary, maxLength: 64)
        }
        let characters = (Array("abcdefghijklmnopqrstuvwxyz0123456789")).map(String.init)
        let tokens =
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##able", "the"] + characters + characters.map { "##" + $0 }
        return WordPieceTokenizer(vocabulary: try! Vocabulary(tokens: tokens), maxLength: 64)
    }()
}
