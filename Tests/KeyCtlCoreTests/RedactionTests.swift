import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct RedactionTests {
    let key = "ak_live_0S2Y6IU5XXY464YlDAblizEID753z6wG41khoD"

    @Test func aKeyInAMessageBecomesItsHint() {
        #expect(Redaction.redactingKeys(in: "invalid value '\(key)' for --env") == "invalid value 'ak_live_…khoD' for --env")
        #expect(Redaction.redactingKeys(in: key) == "ak_live_…khoD")
        let test = "pay2_test_0S2Y6IU5XXY464YlDAblizEID753z6wG41khoD"
        #expect(Redaction.redactingKeys(in: "a \(test) b \(key)") == "a pay2_test_…khoD b ak_live_…khoD")
    }

    @Test func textThatIsNotAKeyIsLeftAlone() {
        for text in [
            "no key 'ci'", "ak_live_short", "a_live_0S2Y6IU5XXY464YlDAblizEID753z6wG41khoD", "ak_prod_0S2Y6IU5XXY464YlDAblizEID753z6wG41khoD",
            "key_0S2Y6IU5XXY464YlDAbliz", "caf\u{E9} \u{2026}", "",
        ] {
            #expect(Redaction.redactingKeys(in: text) == text)
        }
    }

    @Test func usageErrorsNeverEchoAKey() {
        let error = KeyCtlError.usage("invalid value '\(key)' for --permissions", command: "create")
        #expect(!error.description.contains("0S2Y6IU5XXY4"))
        #expect(error.description.contains("ak_live_…khoD"))
    }
}

@Suite struct KeyShapedNameTests {
    @Test func createRefusesANameShapedLikeAKeyAndStoresNothing() throws {
        let dir = "/tmp/keyctl-name-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = CapturedOutput()
        let context = output.context(environment: { _ in nil }, now: { 1_800_000_000 }, randomBytes: systemRandomBytes, readLine: { nil })
        let key = "ak_live_0S2Y6IU5XXY464YlDAblizEID753z6wG41khoD"
        let status = KeyCtl.run(["--keystore", dir + "/ks.json", "create", "oops \(key)"], context: context)
        #expect(status == 64)
        #expect(output.stdout.isEmpty)
        let message = output.stderrText
        #expect(message.contains("shaped like an API key"))
        #expect(!message.contains("0S2Y6IU5XXY4"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/ks.json"))
    }
}
