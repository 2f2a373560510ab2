import Embedding
import Testing

@Suite struct TokenizerTests {
    let tokenizer = TestModel.embedder.tokenizer

    @Test func reproducesTheReferenceTokenIdsOfEverySentence() {
        for sentence in Reference.shared.sentences {
            #expect(tokenizer.encode(sentence.text) == sentence.tokenIds, "\(sentence.text.prefix(40))")
        }
    }

    @Test func lowerCasesAndStripsAccents() {
        #expect(tokenizer.encode("CAFÉ") == tokenizer.encode("cafe"))
        #expect(tokenizer.encode("Ångström naïve") == tokenizer.encode("angstrom naive"))
    }

    @Test func splitsPunctuationAndIdeographs() {
        #expect(tokenizer.encode("hello,world") == tokenizer.encode("hello , world"))
        #expect(tokenizer.encode("日本") == tokenizer.encode("日 本"))
        #expect(tokenizer.encode("a$b") == tokenizer.encode("a $ b"))
    }

    @Test func dropsControlCharactersAndTreatsAllWhitespaceAlike() {
        #expect(tokenizer.encode("a\u{0000}b\u{200B}") == tokenizer.encode("ab"))
        #expect(tokenizer.encode("one\u{2028}two\u{00A0}three") == tokenizer.encode("one two three"))
    }

    @Test func aWordOverOneHundredCharactersIsUnknown() {
        let unknown = tokenizer.vocabulary.unknown
        #expect(tokenizer.encode(String(repeating: "a", count: 101)) == [101, unknown, 102])
        #expect(tokenizer.encode(String(repeating: "a", count: 100)).count > 3)
    }

    @Test func aWordWithAnUnknownPieceIsOneUnknownToken() {
        let unknown = tokenizer.vocabulary.unknown
        #expect(tokenizer.encode("pizza🍕") == [101, unknown, 102])
    }

    @Test func truncatesTo256TokensWithSeparator() {
        let ids = tokenizer.encode(String(repeating: "word ", count: 400))
        #expect(ids.count == 256)
        #expect(ids.first == 101 && ids.last == 102)
        #expect(tokenizer.encode("") == [101, 102])
    }
}
