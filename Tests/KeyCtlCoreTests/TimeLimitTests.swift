// Issue 8 items 7 and 12: a computed time past 9999-12-31T23:59:59Z is a usage error,
// never a wrapped date; a duration too large says the maximum.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct TimeLimitTests {
    static let lastSecond = "9999-12-31T23:59:59Z"

    @Test func laterStopsAtYear9999() {
        #expect(TimeLimit.later(RFC3339.latest - 10, by: 10) == RFC3339.latest)
        #expect(TimeLimit.later(RFC3339.latest - 10, by: 11) == nil)
        #expect(TimeLimit.later(Int64.max - 1, by: 10) == nil)
    }

    /// `create svc --expires-at 9999-12-31T23:59:59Z; rotate svc`: 1.0 stored the new key's
    /// expiry as year 0000 and revoked the old key.
    @Test(arguments: [["rotate", "svc"], ["rotate", "svc", "--grace", "1h"]])
    func rotationPastYear9999IsAUsageError(arguments: [String]) throws {
        let w = World()
        try w.create("other")
        try w.create("svc", ["--expires-at", Self.lastSecond])
        w.now += 1
        let (line, _) = w.expectFailure(arguments, .usage)
        #expect(line.contains(Self.lastSecond), "\(line)")
        #expect(line.contains("--expires-in"), "\(line)")
        // With a lifetime that fits, it works.
        #expect(w.run(arguments + ["--expires-in", "30d"]).status == 0)
    }

    @Test func everyComputedTimeIsChecked() throws {
        let w = World()
        w.now = RFC3339.parse(Array("9999-06-01T00:00:00Z".utf8))!
        try w.create("a")
        try w.create("b", ["--expires-in", "30d"])
        w.expectFailure(["create", "c", "--expires-in", "365d"], .usage)
        w.expectFailure(["rotate", "b", "--expires-in", "365d"], .usage)
        // A grace is capped by the key's own expiry, so it never runs past it.
        #expect(w.run(["rotate", "b", "--grace", "7d", "--expires-in", "1d"]).status == 0)
        w.now = RFC3339.latest - 3600
        try w.create("d")
        w.expectFailure(["rotate", "d", "--grace", "7d", "--expires-in", "1s"], .usage)
        // rotate --expiring-within: all or nothing.
        w.now = RFC3339.parse(Array("9999-06-01T00:00:00Z".utf8))!
        try w.create("e", ["--expires-in", "200d"])
        w.now += 190 * 86400
        w.expectFailure(["rotate", "--expiring-within", "30d"], .usage)
        // list --expiring-within compares, it stores nothing: a long window is fine.
        #expect(w.run(["list", "--expiring-within", "36500d"]).status == 0)
        for record in try w.list() {
            for field in ["created_at", "expires_at", "revoked_at"] {
                if let t = record[field] as? String { #expect(!t.hasPrefix("0000"), "\(record)") }
            }
        }
    }

    /// Item 12: a duration too large is not "invalid"; the message says the maximum.
    @Test(arguments: [
        (["create", "x", "--expires-in", "36501d"], "at most 36500d"), (["create", "x", "--expires-in", "99999999999999999999s"], "at most 36500d"),
        (["rotate", "a", "--grace", "8d"], "at most 7d"), (["rotate", "a", "--grace", "9999999999999w"], "at most 7d"),
        (["list", "--expiring-within", "1000000000000d"], "at most 36500d"),
    ])
    func tooLargeSaysTheMaximum(arguments: [String], says: String) throws {
        let w = World()
        try w.create("a")
        let (line, _) = w.expectFailure(arguments, .usage)
        #expect(line.contains(says), "\(line)")
        #expect(!line.contains("invalid duration"), "\(line)")
    }

    @Test func durationOutcomes() {
        #expect(DurationParser.read("90d") == .seconds(90 * 86400))
        #expect(DurationParser.read("36501d") == .tooLarge)
        #expect(DurationParser.read("99999999999999999999999s") == .tooLarge)
        #expect(DurationParser.read("99999999999999999999999x") == .invalid)
        #expect(DurationParser.read("1d1d") == .invalid)
        #expect(DurationParser.read("") == .invalid)
    }
}
