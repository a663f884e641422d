// keyctl(1) COMMANDS rotate (issue 8 item 17): a key whose lifetime is no longer than the
// `rotate --expiring-within` window is picked again by the next run, so its
// replacement would be rotated on every run. The rotation says so on stderr, with
// the fix (--expires-in), in both output modes, and stays quiet otherwise.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct RotationWindowTests {
    static let day: Int64 = 86400

    /// short: a 1-day key; long: a 30-day key 20 days on; none: no expiry.
    static func world() throws -> (World, short: World.Created, long: World.Created) {
        let w = World()
        let long = try w.create("long", ["--expires-in", "30d"])
        try w.create("none")
        w.now += 20 * day
        let short = try w.create("short", ["--expires-in", "1d"])
        return (w, short, long)
    }

    static func warnings(_ r: Output) -> [Substring] {
        r.stderr.split(separator: "\n").filter { $0.hasPrefix("keyctl: warning: ") }
    }

    @Test(arguments: [false, true])
    func aReplacementTheSameWindowPicksIsWarnedAbout(json: Bool) throws {
        let (w, short, _) = try Self.world()
        let r = w.run((json ? ["--json"] : []) + ["rotate", "--expiring-within", "14d"])
        #expect(r.status == 0, "\(r.stderr)")
        let warnings = Self.warnings(r)
        // Only the 1-day key's replacement: the 30-day one lives past the window.
        #expect(warnings.count == 1, "\(r.stderr)")
        let warning = try #require(warnings.first)
        let new = try #require(try w.record("short")["id"] as? String)
        #expect(new != short.id)
        #expect(warning.contains("\(new) (short)"), "\(warning)")
        #expect(warning.contains("within the 14d window"), "\(warning)")
        #expect(warning.contains("rotates it again") && warning.contains("--expires-in"), "\(warning)")
        #expect(warning.contains(RFC3339.format(w.now + Self.day)), "\(warning)")
        if json { #expect(r.stdout.hasPrefix("[")) }
        // What it says is true: the next run picks that key again, and only that one.
        let again = w.run(["--json", "rotate", "--expiring-within", "14d"])
        let batch = try #require(parse(again.stdout) as? [[String: [String: Any]]])
        #expect(batch.compactMap { $0["old"]?["id"] as? String } == [new])
    }

    @Test(arguments: [("14d", true), ("13d", true), ("15d", false), ("90d", false)])
    func expiresInDecides(expiresIn: String, warned: Bool) throws {
        let (w, _, _) = try Self.world()
        let r = w.run(["rotate", "--expiring-within", "14d", "--expires-in", expiresIn])
        #expect(r.status == 0, "\(r.stderr)")
        // With --expires-in both replacements get the same lifetime.
        #expect(Self.warnings(r).count == (warned ? 2 : 0), "\(expiresIn): \(r.stderr)")
    }

    @Test func noWindowNoWarning() throws {
        let (w, short, _) = try Self.world()
        for arguments in [["rotate", short.id], ["rotate", "long", "--expires-in", "1h"], ["rotate", "none"]] {
            let r = w.run(arguments)
            #expect(r.status == 0 && Self.warnings(r).isEmpty, "\(arguments): \(r.stderr)")
        }
        let fresh = World()
        try fresh.create("later", ["--expires-in", "30d"])
        let nothingDue = fresh.run(["rotate", "--expiring-within", "1h"])
        #expect(nothingDue.status == 0 && Self.warnings(nothingDue).isEmpty, "\(nothingDue.stderr)")
    }
}
