import Foundation
import Testing

@testable import Proxy

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let text =
            #"{"a":[1,-2,3.5,1e3,-0.25E-2],"b":{"c":null,"d":true,"e":false},"s":"x\"y\\z\/\n\t\u00e9\ud83d\ude00","big":12345678901234567890}"#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["a"] == [1, -2, 3.5, .number(1000), -0.0025])
        #expect(value["b"] == ["c": nil, "d": true, "e": false])
        #expect(value["s"] == .string("x\"y\\z/\n\té😀"))
        #expect(value["big"] == .number(12345678901234567890))
    }

    @Test func agreesWithFoundationOnRoundTrips() throws {
        let value: JSONValue = [
            "text": "line\nbreak \"quoted\" \u{0001} ünïcode", "list": [1, 2.5, true, nil, ["nested": [:]]],
        ]
        let bytes = value.serialized(sortedKeys: true)
        #expect(try JSONValue.parse(bytes) == value)
        let foundation = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        #expect(foundation?["text"] as? String == "line\nbreak \"quoted\" \u{0001} ünïcode")
        #expect(
            String(decoding: (["b": 1, "a": 2] as JSONValue).serialized(sortedKeys: true), as: UTF8.self)
                == #"{"a":2,"b":1}"#)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"unterminated", "tru", "{\"a\" 1}", "[1 2]", "\"\\x\"",
        "\"\\ud800\"", "nul", "1e", "{} {}", "\"tab\there\"",
    ])
    func rejectsMalformedInput(text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(Array(text.utf8)) }
    }

    /// Invalid UTF-8 in a string is refused, never repaired, with or without escapes beside it, in keys as in
    /// values; only an upstream's answer is repaired (U+FFFD), through `parseRepairingUTF8`.
    @Test func refusesInvalidUTF8AndRepairsItOnlyWhenAsked() throws {
        let cases: [[UInt8]] = [
            Array(#"{"content":""#.utf8) + [0xFF] + Array(#""}"#.utf8),
            Array(#"{"content":"a\n"#.utf8) + [0xC3] + Array(#""}"#.utf8),
            Array(#"{""#.utf8) + [0xED, 0xA0, 0x80] + Array(#"":1}"#.utf8),
        ]
        for bytes in cases {
            #expect(throws: (any Error).self) { try JSONValue.parse(bytes) }
            let repaired = try JSONValue.parseRepairingUTF8(bytes)
            #expect(repaired.serialized().count > 0)
            #expect(String(decoding: repaired.serialized(), as: UTF8.self).contains("\u{FFFD}"))
        }
        #expect(try JSONValue.parse(Array(#"{"ok":"é ✓ 😀"}"#.utf8))["ok"] == "é ✓ 😀")
    }

    @Test func refusesNestingDeeperThanTheLimitInsteadOfOverflowingTheStack() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try JSONValue.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: Never.self) { try JSONValue.parse(Array(fine.utf8)) }
    }
}
