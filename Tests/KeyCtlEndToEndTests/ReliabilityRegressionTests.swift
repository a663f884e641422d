// Regression tests for bugs the reliability work found (each also has a fuzz corpus
// entry or a test in the other Reliability suites).

import Foundation
import Testing

@testable import KeyCtlCore

@Suite("Reliability: regressions")
struct ReliabilityRegressionTests {
    /// Found by the `time` fuzz target: an offset carried 9999-12-31 into year 10000, which
    /// was stored as year 0000 — a key created to expire in the far future was expired at once.
    @Test(arguments: ["9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59-00:01", "0000-01-01T00:00:00+00:01"])
    func timesOutsideTheWritableRangeAreRejected(text: String) {
        #expect(RFC3339.parse(Array(text.utf8)) == nil)
        let box = Sandbox()
        let r = box.keyctl(["create", "far", "--expires-at", text])
        #expect(r.status == 64, "\(r.stdout) \(r.stderr)")
        #expect(box.keystoreBytes() == nil)
    }

    @Test func edgesOfTheWritableRangeRoundTrip() {
        for text in ["9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59+00:00", "0000-01-01T23:59:59+23:59"] {
            let t = RFC3339.parse(Array(text.utf8))
            #expect(t != nil, "\(text)")
            if let t { #expect(RFC3339.parse(Array(RFC3339.format(t).utf8)) == t) }
        }
    }

    /// Found by the secrets test (and fixed at the same time in Redaction.swift): a key
    /// pasted where an id, name or value belongs was repeated in full in the error
    /// message, and so in CI logs; the JSON error path too.
    @Test func errorMessagesShowAKeyOnlyAsItsHint() {
        let key = "ak_live_3XbV0p9qTq2fWm4yR8sLk1ZcN7dHe6Aa0Jx9Q"
        #expect(Redaction.redactingKeys(in: "no key '\(key)'; see 'keyctl list'") == "no key 'ak_live_\u{2026}Jx9Q'; see 'keyctl list'")
        #expect(Redaction.redactingKeys(in: "x_\(key)=1") == "x_ak_live_\u{2026}Jx9Q=1")
        #expect(Redaction.redactingKeys(in: "zz_test_0123456789abcdefghXYZ") == "zz_test_\u{2026}hXYZ")
        #expect(Redaction.redactingKeys(in: "no key 'ci_live_short' or 'key_abc'") == "no key 'ci_live_short' or 'key_abc'")
        #expect(Redaction.redactingKeys(in: "naïve ☃ text") == "naïve ☃ text")
        let box = Sandbox()
        #expect(box.keyctl(["create", "k"]).status == 0)
        for args in [["show", key], ["revoke", key], [key], ["verify", key, key]] {
            let r = box.keyctl(args)
            #expect(r.status != 0)
            #expect(!r.stderr.contains(key) && r.stderr.contains("Jx9Q"), "\(args): \(r.stderr)")
        }
    }
}
