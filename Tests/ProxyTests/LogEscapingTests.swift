import Logging
import Synchronization
import Testing

@testable import Proxy

/// Client values in log lines: escaped, so none can start a line of its own.
@Suite struct LogEscapingTests {
    final class Recorder: Sendable {
        let events = Mutex<[LogEvent]>([])
    }

    static let forged = "gpt-4o\n2026-12-01T00:00:00+0000 critical routershift: disk full\u{1B}[31m\u{2028}\\"

    func logged(_ body: (Logger) -> Void) -> [LogEvent] {
        let recorder = Recorder()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(wrapping: RecordingHandler(recorder: recorder)) }
        logger.logLevel = .trace
        body(logger)
        return recorder.events.withLock { $0 }
    }

    /// Keeps the events it is given in a shared recorder (a handler is copied by value), with metadata of
    /// its own.
    struct RecordingHandler: LogHandler {
        let recorder: Recorder
        var metadata: Logger.Metadata = ["connection": "c1\nforged"]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) { recorder.events.withLock { $0.append(event) } }
    }

    static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 }
    }

    @Test func escapesMetadataValuesKeysAndMessages() throws {
        let events = logged { logger in
            logger.info(
                "request \(Self.forged)",
                metadata: [
                    "model": "\(Self.forged)", "key\nforged": "x",
                    "nested": .array([.string(Self.forged), .dictionary(["inner": .string(Self.forged)])]),
                ])
        }
        let event = try #require(events.first)
        #expect(!Self.hasControl(event.message.description))
        let metadata = try #require(event.metadata)
        for (key, value) in metadata {
            #expect(!Self.hasControl(key))
            #expect(!Self.hasControl(value.description), "\(key)")
        }
        #expect(
            metadata["model"]?.description
                == #"gpt-4o\n2026-12-01T00:00:00+0000 critical routershift: disk full\u{1B}[31m\u{2028}\\"#)
        #expect(metadata["connection"]?.description == #"c1\nforged"#)
    }

    @Test func leavesOrdinaryTextAlone() {
        #expect(EscapingLogHandler.escape("gpt-4o-mini é 日本") == "gpt-4o-mini é 日本")
    }
}
