// Issue 8 item 16: `list` for people (aligned by display width) and for pipes (tabs,
// no header), and revoked keys left out unless asked for.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct ListOutputTests {
    @Test(arguments: [
        ("abc", 3), ("東京", 4), ("ｶ", 1), ("Ａ", 2), ("e\u{301}", 1), ("👍", 2), ("👍🏽", 2), ("❤️", 2), ("👨\u{200D}👩\u{200D}👧", 2),
        ("🇫🇷", 2), ("한국", 4), ("\u{1100}\u{1161}", 2), ("naïve", 5), ("", 0),
    ])
    func displayWidth(text: String, width: Int) {
        #expect(DisplayWidth.of(text) == width, "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
    }

    /// On a terminal, every column starts at the same display column in every row.
    @Test func wideNamesStayAligned() throws {
        let w = World()
        for name in ["東京 prod", "a", "👍🏽 ok", "cafe\u{301}", "deploy bot"] { try w.create(name) }
        w.terminal = true
        w.environment["NO_COLOR"] = "1"
        let r = w.run(["list"])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 6)
        // Where ENV starts, in display columns, for every line.
        let envColumns = lines.map { line -> Int in
            let i = line.range(of: line == lines[0] ? "ENV" : (line.contains("  live  ") ? "live" : "?"))!.lowerBound
            return DisplayWidth.of(String(line[..<i]))
        }
        #expect(Set(envColumns).count == 1, "\(r.stdout)")
    }

    /// Not a terminal: tabs, no header, no padding; a name with a space is one field.
    @Test func pipedOutputIsTabSeparated() throws {
        let w = World()
        try w.create("deploy bot")
        try w.create("東京")
        let r = w.run(["list"])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "no header: \(r.stdout)")
        for line in lines {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            #expect(fields.count == 8, "\(line)")
            #expect(!line.contains("  "), "padding: \(line)")
            #expect(!line.contains("\u{1B}"))
        }
        #expect(lines.map { $0.split(separator: "\t")[1] } == ["東京", "deploy bot"])
    }

    /// Revoked keys are left out unless --all or --status asks for them.
    @Test func revokedKeysAreHiddenByDefault() throws {
        let w = World()
        let a = try w.create("a")
        try w.create("b")
        #expect(w.run(["rotate", "a"]).status == 0)
        #expect(w.run(["rotate", "b", "--grace", "1h"]).status == 0)
        let ids = { (options: [String]) throws -> [String] in
            try #require(parse(w.run(["list", "--json"] + options).stdout) as? [[String: Any]]).compactMap { $0["id"] as? String }
        }
        #expect(try !ids([]).contains(a.id))
        #expect(try ids([]).count == 3, "two new keys and b retiring")
        #expect(try ids(["--all"]).contains(a.id))
        #expect(try ids(["--status", "revoked"]) == [a.id])
        #expect(!w.run(["list"]).stdout.contains(a.id))
        #expect(w.run(["list", "--all"]).stdout.contains(a.id))
        // Nothing but revoked keys: the notice says where they went.
        let v = World()
        try v.create("x")
        let y = try v.create("y")
        #expect(v.run(["revoke", y.id]).status == 0)
        let only = v.run(["list", "--status", "expired"])
        #expect(only.stderr.contains("no keys match"))
    }
}
