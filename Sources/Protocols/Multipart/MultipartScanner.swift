import Foundation
import NIOCore

/// One part of a multipart body, as its headers describe it.
package struct MultipartPart: Sendable, Equatable {
    /// The `name` of its `Content-Disposition: form-data` header.
    package var name: String?
    /// The `filename`, for a file part.
    package var filename: String?
    /// Where its content starts, counted in bytes from the start of the body.
    package var contentStart: Int
}

/// What a chunk of a multipart body completed.
package enum MultipartEvent: Sendable, Equatable {
    /// A part's headers were read; its content follows.
    case partBegan(MultipartPart)
    /// A part's content ended at `contentEnd` (exclusive, counted from the start of the body).
    case partEnded(MultipartPart, contentEnd: Int)
    /// The closing delimiter was read; whatever follows is ignored.
    case bodyEnded
}

/// A multipart body the scanner cannot read.
package struct MultipartError: Error, Equatable {
    package let message: String
}

/// An incremental scanner of `multipart/form-data` (RFC 7578) bytes, fed the body as it arrives.
///
/// Each byte is examined once, whatever the chunking: the delimiter is matched with a Knuth-Morris-Pratt
/// automaton that carries a partial match from one chunk to the next, and each part's headers are parsed
/// once, when their blank line arrives. It holds at most `maxHeaderBytes` (one part's headers), never the
/// content: text that looks like a part inside a file's data is content, not a part.
package struct MultipartScanner: Sendable {
    private enum State: Sendable {
        /// Before the first delimiter (the preamble) or inside a part's content.
        case content
        /// Just after a delimiter: `--` closes the body, CRLF starts a part's headers.
        case afterDelimiter(sawDash: Bool, sawCarriageReturn: Bool)
        case headers
        case epilogue
    }

    /// 16 KiB of headers for one part.
    package static let defaultMaxHeaderBytes = 16 << 10

    package let maxHeaderBytes: Int
    /// `CRLF--boundary`: a part's content ends where this begins.
    private let delimiter: [UInt8]
    /// The Knuth-Morris-Pratt failure function of `delimiter`.
    private let fallback: [Int]
    private var matched: Int
    private var state = State.content
    private var header: [UInt8] = []
    private var part: MultipartPart?
    /// Bytes of the body consumed so far.
    package private(set) var offset = 0
    /// Steps of the automaton so far, the scanner's work: at most twice the bytes fed, whatever the
    /// chunking.
    package private(set) var steps = 0

    package init(boundary: String, maxHeaderBytes: Int = Self.defaultMaxHeaderBytes) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        fallback = Self.failureFunction(delimiter)
        self.maxHeaderBytes = maxHeaderBytes
        // The body opens with `--boundary`: as if a CRLF came before it.
        matched = 2
    }

    /// The events `chunk` completes.
    ///
    /// - Throws: ``MultipartError`` for a part whose headers pass `maxHeaderBytes` or a delimiter followed
    ///   by neither CRLF nor `--`.
    package mutating func scan(_ chunk: ByteBuffer) throws(MultipartError) -> [MultipartEvent] {
        var events: [MultipartEvent] = []
        var failure: MultipartError?
        chunk.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                if let error = step(byte, events: &events) {
                    failure = error
                    return
                }
                offset &+= 1
            }
        }
        if let failure { throw failure }
        return events
    }

    private mutating func step(_ byte: UInt8, events: inout [MultipartEvent]) -> MultipartError? {
        steps &+= 1
        switch state {
        case .content:
            while matched > 0 && delimiter[matched] != byte {
                matched = fallback[matched - 1]
                steps &+= 1
            }
            if delimiter[matched] == byte { matched += 1 }
            if matched == delimiter.count {
                matched = 0
                if let part {
                    events.append(.partEnded(part, contentEnd: offset + 1 - delimiter.count))
                    self.part = nil
                }
                state = .afterDelimiter(sawDash: false, sawCarriageReturn: false)
            }
        case .afterDelimiter(let sawDash, let sawCarriageReturn):
            let isPadding = byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
            if byte == UInt8(ascii: "-") && !sawCarriageReturn {
                if sawDash {
                    state = .epilogue
                    events.append(.bodyEnded)
                } else {
                    state = .afterDelimiter(sawDash: true, sawCarriageReturn: false)
                }
            } else if isPadding && !sawDash && !sawCarriageReturn {
                break
            } else if byte == UInt8(ascii: "\r") && !sawDash && !sawCarriageReturn {
                state = .afterDelimiter(sawDash: false, sawCarriageReturn: true)
            } else if byte == UInt8(ascii: "\n") && sawCarriageReturn {
                header.removeAll(keepingCapacity: true)
                state = .headers
            } else {
                return MultipartError(message: "a multipart delimiter is followed by neither CRLF nor `--`")
            }
        case .headers:
            guard header.count < maxHeaderBytes else {
                return MultipartError(message: "the headers of a multipart part exceed \(maxHeaderBytes) bytes")
            }
            header.append(byte)
            guard byte == UInt8(ascii: "\n") else { break }
            // A blank line ends the headers: `\r\n` alone when the part has none.
            let isBlankLine =
                header.count == 2 ? header[0] == UInt8(ascii: "\r") : header.suffix(4).elementsEqual("\r\n\r\n".utf8)
            if isBlankLine {
                var began = Self.part(fromHeaders: header)
                began.contentStart = offset + 1
                part = began
                events.append(.partBegan(began))
                header = []
                state = .content
            }
        case .epilogue:
            break
        }
        return nil
    }

    /// The part that `headers` (the bytes through their blank line) describe: the `name` and `filename`
    /// of its Content-Disposition.
    private static func part(fromHeaders headers: [UInt8]) -> MultipartPart {
        var part = MultipartPart(contentStart: 0)
        let text = String(decoding: headers, as: UTF8.self)
        for line in text.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":"),
                line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition"
            else { continue }
            for parameter in line[line.index(after: colon)...].split(separator: ";").dropFirst() {
                guard let equals = parameter.firstIndex(of: "=") else { continue }
                let key = parameter[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
                var value = parameter[parameter.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") {
                    value = String(value.dropFirst().dropLast())
                }
                if key == "name" { part.name = value }
                if key == "filename" { part.filename = value }
            }
        }
        return part
    }

    private static func failureFunction(_ pattern: [UInt8]) -> [Int] {
        var table = [Int](repeating: 0, count: pattern.count)
        var length = 0
        for index in pattern.indices.dropFirst() {
            while length > 0 && pattern[index] != pattern[length] { length = table[length - 1] }
            if pattern[index] == pattern[length] { length += 1 }
            table[index] = length
        }
        return table
    }

    /// The `boundary` parameter of a `multipart/form-data` content type.
    package static func boundary(of contentType: String) -> String? {
        guard let range = contentType.range(of: "boundary=") else { return nil }
        var boundary = String(contentType[range.upperBound...])
        if let end = boundary.firstIndex(of: ";") { boundary = String(boundary[..<end]) }
        boundary = boundary.trimmingCharacters(in: .init(charactersIn: "\" "))
        return boundary.isEmpty || boundary.utf8.count > 70 ? nil : boundary
    }
}
