// The rotation window warning (keyctl(1) COMMANDS rotate, issue 8 item 17) from the real binary,
// as a scheduled CI step sees it: --json data on stdout untouched, one warning line on
// stderr per replacement that the next run would rotate again, never a secret in it.

import Foundation
import Testing

@Suite struct RotationWindowEndToEndTests {
    @Test func aScheduledRotationSaysWhenItWouldRotateTheSameKeyAgain() throws {
        let s = Sandbox()
        #expect(s.keyctl(["create", "short", "--expires-in", "2d"]).status == 0)
        #expect(s.keyctl(["create", "long", "--expires-in", "90d"]).status == 0)
        let r = s.keyctl(["--json", "rotate", "--expiring-within", "14d", "--grace", "1h"])
        #expect(r.status == 0, "\(r.stderr)")
        let batch = try #require(parseJSON(r.stdout) as? [[String: [String: Any]]], "\(r.stdout)")
        #expect(batch.count == 1)
        let new = try #require(batch.first?["new"])
        let key = try #require(new["key"] as? String)
        let id = try #require(new["id"] as? String)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        let warning = try #require(lines.first)
        #expect(warning.hasPrefix("keyctl: warning: the new key \(id) (short) expires at "), "\(warning)")
        #expect(warning.hasSuffix("give --expires-in longer than 14d"), "\(warning)")
        #expect(!r.stderr.contains(key.suffix(12)))

        // The fix the warning names: a lifetime past the window, and the next run is quiet.
        let fixed = s.keyctl(["rotate", "--expiring-within", "14d", "--expires-in", "30d"])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(!fixed.stderr.contains("warning"), "\(fixed.stderr)")
        let quiet = s.keyctl(["--json", "rotate", "--expiring-within", "14d"])
        #expect(quiet.status == 0 && quiet.stdout == "[]\n" && quiet.stderr.isEmpty, "\(quiet)")
    }
}
