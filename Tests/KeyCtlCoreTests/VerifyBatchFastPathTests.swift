// verify --batch's per-line shortcuts (the valid line answered from bytes by
// BatchKeystore.valid, a valid answer kept per key, ASCII trimming) give exactly the
// answers of the slow path: every batch answer, without its "line", is byte for byte
// the single `verify --json` of the same text, at the same moment, for every form,
// whitespace, status and --require; and on seeded random lines the shortcut answers
// only what `judge` answers valid, with the same record and the same bytes.

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
        let expiring = try w.create("expiring", ["--expires-in", "1h"]).key
        let rotated = try w.create("rotated", ["--permissions", "write"])
        #expect(w.run(["rotate", rotated.id, "--grace", "1d"]).status == 0)  // rotated.key is retiring
        w.now += 2 * 3600  // `expiring` has expired
        let basic = "Basic " + Data((live + ":").utf8).base64EncodedString()
        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        var texts: [String] = []
        for key in [live, reader, test, revoked.key, expiring, rotated.key] {
            let forms = [
                key, "Bearer \(key)", "Authorization: Bearer \(key)", "x-api-key: \(key)", "KEYCTL_API_KEY=\(key)",
                "Basic \(base64(key + ":"))", "Authorization: Basic \(base64(":" + key))", "AUTHORIZATION:\tbasic  \(base64(key))",
                "X-API-KEY:\(key)", "bearer\t\(key)",
            ]
            for form in forms {
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

    /// Random lines near valid keys: every form, case and spacing, then often one byte
    /// changed, inserted or removed (any byte, NUL and non-ASCII included).
    @Test(arguments: [[], ["write"], ["admin"]])
    func theShortcutAnswersOnlyWhatJudgeAnswersValid(require: [String]) throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("theShortcutAnswersOnlyWhatJudgeAnswersValid seed: \(seed) (require \(require))")
        var rng = SplitMix(state: seed)
        let w = VerifyWorld()
        var keys = [try w.create("live", ["--permissions", "read,write"]).key, try w.create("reader").key]
        keys.append(try w.create("boss", ["--permissions", "admin"]).key)
        keys.append(try w.create("test", ["--env", "test"]).key)
        let revoked = try w.create("revoked")
        #expect(w.run(["revoke", revoked.id]).status == 0)
        keys.append(revoked.key)
        keys.append(try w.create("expiring", ["--expires-in", "1h"]).key)
        let rotated = try w.create("rotated", ["--permissions", "write"])
        #expect(w.run(["rotate", rotated.id, "--grace", "1d"]).status == 0)
        keys.append(rotated.key)
        w.now += 2 * 3600
        keys.append("ak_live_" + String(repeating: "A", count: 38))  // the shape of a key, a wrong checksum
        keys.append(String(keys[0].dropFirst(2)))

        let output = CapturedOutput()
        let context = output.context(environment: { _ in nil }, now: { w.now }, randomBytes: { [UInt8](repeating: 0, count: $0) }, readLine: { nil })
        let parsed = try ArgumentParser.parse(["--keystore", w.keystore, "verify", "--batch", "--no-stamp"] + require.flatMap { ["--require", $0] })
        let inv = Invocation(arguments: parsed, spec: try #require(parsed.command), context: context, now: w.now)
        let required = Permissions(require.compactMap(Permission.init(rawValue:)))
        let keystore = BatchKeystore(file: try inv.keystoreFile(), required: required)
        try keystore.refresh(now: w.now)

        func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
        func pick<T>(_ items: [T]) -> T { items[rng.below(items.count)] }
        func randomCase(_ text: String) -> String {
            String(text.map { rng.below(2) == 0 ? Character($0.uppercased()) : Character($0.lowercased()) })
        }
        let spaces = ["", " ", "\t", "  ", "\r", "\u{A0}", "\u{2003}", "\u{FEFF}", "\u{0B}", "\u{1C}"]
        var shortcuts = 0
        var valids = 0
        // At least 3,000 lines, and on until 50 took the shortcut: with --require admin
        // only one key in nine can pass, so a fixed count could fall short by chance.
        var round = 0
        while round < 3000 || (shortcuts < 50 && round < 60000) {
            defer { round += 1 }
            let key = pick(keys)
            let credentials = pick([key, key + ":", ":" + key, "user:" + key])
            let form = pick([
                key, key, "Bearer \(key)", "\(randomCase("authorization")):\(pick(spaces))\(randomCase("bearer"))\(pick([" ", "\t", "  "]))\(key)",
                "\(randomCase("x-api-key")):\(pick(spaces))\(key)", "KEYCTL_API_KEY=\(key)", "keyctl_api_key=\(key)",
                "\(randomCase("basic")) \(base64(Array(credentials.utf8)))", "Authorization: Basic \(base64(Array(credentials.utf8)))",
                "Authorization: Digest \(key)", "Bearer", "\(key) \(key)",
            ])
            var bytes = Array((pick(spaces) + form + pick(spaces)).utf8)
            if rng.below(2) == 0, !bytes.isEmpty {
                let at = rng.below(bytes.count)
                let byte = pick([UInt8(truncatingIfNeeded: rng.next()), pick(Array("aZ09_: =+/\t".utf8)), 0])
                switch rng.below(3) {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                default: bytes.remove(at: at)
                }
            }
            let shortcut = keystore.valid(bytes[...], now: w.now)
            let answer = try VerifyCommand.judge(VerifyBatch.trimmed(bytes[...]), required: required, now: w.now, inv: inv) { digest in
                (keystore.prefix, digest.flatMap { keystore.records[$0] })
            }
            let line = "round \(round), seed \(seed): \(String(decoding: bytes, as: UTF8.self).debugDescription)"
            if let shortcut {
                shortcuts += 1
                #expect(answer.code == nil, "\(line)")
                #expect(answer.record?.digest == keystore.record(shortcut).digest, "\(line)")
                #expect(keystore.validAnswer(shortcut) == Array(VerifyCommand.json(answer).dropFirst()), "\(line)")
            }
            if answer.code == nil {
                valids += 1
                // Every valid line of ASCII takes the shortcut: it covers every form.
                #expect(shortcut != nil || bytes.contains { $0 >= 0x80 }, "\(line)")
            }
        }
        print("theShortcutAnswersOnlyWhatJudgeAnswersValid seed \(seed): \(shortcuts) shortcuts, \(valids) valid in \(round) lines")
        // Not vacuous: at least 50 valid lines took the shortcut, and every valid line of
        // ASCII did (checked above).
        #expect(shortcuts >= 50 && valids >= shortcuts, "seed \(seed): \(shortcuts) shortcuts, \(valids) valid in \(round) lines")
    }

    /// An --require the keys lack: the shortcut never answers, every line goes to `judge`.
    @Test func noShortcutForAKeyThatLacksTheRequiredPermission() throws {
        let w = VerifyWorld()
        let key = try w.create("reader").key
        let r = w.run(["verify", "--batch", "--no-stamp", "--require", "admin"], chunks: [Array((key + "\n").utf8)])
        #expect(jsonObject(r.stdout.split(separator: "\n")[0])?["code"] as? String == "FORBIDDEN", "\(r.stdout)")
    }

    @Test(arguments: [0, 1, 9, 10, 99, 100, 12345, Int(Int32.max), Int.max])
    func decimalIsInterpolation(n: Int) {
        var out: [UInt8] = [1]
        VerifyBatch.appendDecimal(n, to: &out)
        #expect(out == [1] + Array("\(n)".utf8))
    }
}
