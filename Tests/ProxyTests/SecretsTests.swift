import Testing

@testable import Proxy

/// Key hashes are what the database stores and every request is checked against: the digest must be exact.
struct SecretsTests {
    @Test func sha256HexMatchesTheStandardVectors() {
        #expect(Secrets.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Secrets.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func constantTimeEqualsComparesWholeSecrets() {
        #expect(Secrets.constantTimeEquals("sk-one", "sk-one"))
        #expect(!Secrets.constantTimeEquals("sk-one", "sk-onf"))
        #expect(!Secrets.constantTimeEquals("sk-one", "sk-one-longer"))
    }
}
