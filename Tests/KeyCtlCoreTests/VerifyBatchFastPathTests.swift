// verify --batch's per-line shortcuts (a valid answer kept per key, ASCII trimming)
// give exactly the answers of the slow path: every batch answer, without its
// "line", is byte for byte the single `verify --json` of the same text, at the same
// moment, for every form, whitespace, status and --require.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct VerifyBatchFastPathTests {
    @Test(arguments: [[], ["--require", "write"]])
    func everyBatchAnswerIsTheSingleAnswer(require: [String]) throws {
        let w = VerifyWorld()
        let live = try w.create("live", ["--permissions", "read,write"]).key
        let reader = try w.create("reader").key
        let test = try w.create("test", ["--env", "test"]).key
        let revoked = try w.create("revoked")
        #expect(w.run(["revoke", revoked.id]).status == 0)
        let basic = "Basic " + Data((live + ":").utf8).base64EncodedString()
        var texts: [String] = []
        for key in [live, reader, test, revoked.key] {
            for form in [key, "Bearer \(key)", "Authorization: Bearer \(key)", "x-api-key: \(key)", "KEYCTL_API_KEY=\(key)"] {
                texts += [form, "  \(form)\t", "\u{A0}\(form)\u{2003}", "\u{3000}\(form)", "\(form)\r", "\u{FEFF}\(form)"]
            }
        }
        texts += [
            basic, "", "   ", "\u{A0}", String(live.dropLast()), live + "x", "Bearer", "Basic !!!", "x-api-key:", "ak_live_short", "é\(live)",
            "\(live) é", "\u{85}\(live)",
        ]
        // Each key several times: the kept answer is reused, and must still be the same.
        let all = texts + texts + texts
        let r = w.run(["verify", "--batch", "--no-stamp"] + require, chunks: [Array(all.map { $0 + "\n" }.joined().utf8)])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(lines.count == all.count)
        for (n, (text, line)) in zip(all, lines).enumerated() {
            let single = w.run(["verify", "--json", "--no-stamp"] + require, stdin: text + "\n")
            let prefix = "{\"line\":\(n + 1),"
            #expect(line.hasPrefix(prefix))
            #expect("{" + line.dropFirst(prefix.count) + "\n" == single.stdout, "line \(n + 1): \(text.debugDescription)")
        }
    }

    @Test func aKeptAnswerIsDroppedWhenTheKeystoreChanges() throws {
        let w = VerifyWorld()
        let a = try w.create("a")
        _ = try w.create("b")
        let line = Array((a.key + "\n").utf8)
        let r = w.run(
            ["verify", "--batch", "--no-stamp"], chunks: [line, line, line, line],
            between: { step in
                if step == 1 { #expect(w.run(["update", a.id, "--name", "renamed"]).status == 0) }
                if step == 2 { #expect(w.run(["revoke", a.id]).status == 0) }
            })
        let names = r.stdout.split(separator: "\n").map { jsonObject($0)?["name"] as? String ?? "?" }
        let codes = r.stdout.split(separator: "\n").map { jsonObject($0)?["code"] as? String ?? "valid" }
        #expect(names == ["a", "renamed", "renamed", "renamed"], "\(r.stdout)")
        #expect(codes == ["valid", "valid", "REVOKED_API_KEY", "REVOKED_API_KEY"], "\(r.stdout)")
    }

    @Test(arguments: ["", " ", "abc", "  abc ", "\tabc\r", "\u{A0}abc", "abc\u{A0}", "\u{2003} abc \u{2003}", "é", " é ", "\u{85}x", "a b"])
    func asciiTrimmingIsTheUnicodeTrimming(text: String) {
        let bytes = Array(text.utf8)
        #expect(VerifyBatch.trimmed(bytes[...]) == text.trimmingSpaces())
        #expect(VerifyBatch.trimmed(bytes[...]) == String(decoding: bytes, as: UTF8.self).trimmingSpaces())
    }
}
