// Issue 8 items 9 and 10: one status everywhere (notice, list, show, --json, --status
// filter, limit, names, verify), tested for every status against every transition, and
// verify's reason for a revoked key.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct StatusRuleTests {
    static let now: Timestamp = 1_800_000_000

    static func record(expires: Timestamp? = nil, revoked: Timestamp? = nil, rotatedTo: String? = nil) -> KeyRecord {
        KeyRecord(
            id: "key_0000000000000000", name: "a", digest: String(repeating: "0", count: 64), hint: "ak_live_…0000",
            environment: .live, permissions: .read, createdAt: now - 1000, expiresAt: expires, revokedAt: revoked, rotatedTo: rotatedTo)
    }

    /// The rule of design.md, case by case.
    @Test func theRule() {
        let n = Self.now
        let cases: [(KeyRecord, KeyStatus)] = [
            (Self.record(), .active),
            (Self.record(expires: n + 1), .active),
            (Self.record(expires: n), .expired),
            (Self.record(expires: n - 1), .expired),
            (Self.record(revoked: n), .revoked),
            (Self.record(revoked: n - 1), .revoked),
            (Self.record(revoked: n + 1, rotatedTo: "key_1"), .retiring),
            (Self.record(expires: n + 100, revoked: n + 50, rotatedTo: "key_1"), .retiring),
            (Self.record(expires: n - 100, revoked: n - 50), .revoked),
            // A 1.0 record whose grace outlived its expiry: revoked from its expiry on.
            (Self.record(expires: n - 1, revoked: n + 50, rotatedTo: "key_1"), .revoked),
        ]
        for (record, status) in cases {
            #expect(record.status(at: n) == status, "\(record)")
            #expect(record.isInUse == (status == .active || status == .expired), "\(record)")
        }
    }

    /// Every output agrees on `id`'s status: show, show --json, list --json, and each
    /// `list --status S` holds the key exactly when S is its status.
    static func expectOneStatus(_ world: World, _ id: String, _ status: KeyStatus, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try world.record(id)["status"] as? String == status.rawValue, sourceLocation: sourceLocation)
        let show = world.run(["show", id])
        let line = show.stdout.split(separator: "\n").first { $0.hasPrefix("status:") }
        #expect(line?.split(separator: " ").last.map(String.init) == status.rawValue, "\(show.stdout)", sourceLocation: sourceLocation)
        let listed = try world.list(["--all"]).first { $0["id"] as? String == id }
        #expect(listed?["status"] as? String == status.rawValue, sourceLocation: sourceLocation)
        for s in KeyStatus.allCases {
            let ids = try world.list(["--status", s.rawValue]).compactMap { $0["id"] as? String }
            #expect(ids.contains(id) == (s == status), "--status \(s) for a key that is \(status)", sourceLocation: sourceLocation)
        }
    }

    /// Issue 8 item 9: `create A --expires-in 2s; sleep 3; rotate A --grace 1h`.
    @Test func graceOnAnExpiredKeyRevokesItNow() throws {
        let w = World()
        try w.create("keep")
        let a = try w.create("A", ["--expires-in", "2s"])
        w.now += 3
        let r = w.run(["rotate", "A", "--grace", "1h"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("had already expired, so it is revoked now"), "\(r.stderr)")
        try Self.expectOneStatus(w, a.id, .revoked)
        #expect(try w.list(["--status", "expired"]).isEmpty, "an expired key A shown beside its successor")
        let shown = try #require(parse(w.run(["list", "--json"]).stdout) as? [[String: Any]])
        #expect(shown.filter { $0["name"] as? String == "A" }.count == 1, "list shows the revoked A by default")
        w.expectAnswer(["verify"], .revokedAPIKey, stdin: a.key)
    }

    /// A grace never outlives the key: retiring until its expiry, then revoked.
    @Test func graceEndsAtTheKeysExpiry() throws {
        let w = World()
        let a = try w.create("A", ["--expires-in", "30m"])
        let r = w.run(["rotate", "A", "--grace", "1h"])
        #expect(r.stderr.contains("still verifies until \(iso(Self.now + 1800)), when it expires"), "\(r.stderr)")
        try Self.expectOneStatus(w, a.id, .retiring)
        #expect(w.verify(a.key) == 0)
        w.now += 1800
        try Self.expectOneStatus(w, a.id, .revoked)
        let answer = w.run(["verify"], stdin: a.key)
        #expect(answer.status == 3)
        #expect(answer.stderr.contains("its grace ended at \(iso(Self.now + 1800))"), "\(answer.stderr)")
    }

    /// Every status, through every transition: revoke, rotate, rotate --grace, time passing.
    @Test(arguments: ["revoke", "rotate", "rotate-grace", "time"])
    func everyStatusThroughEveryTransition(transition: String) throws {
        // Each starting status, made the way keyctl makes it.
        for start in KeyStatus.allCases {
            let w = World()
            try w.create("keep")
            let a = try w.create("A", ["--expires-in", "2h"])
            switch start {
            case .active: break
            case .expired: w.now += 2 * 3600
            case .retiring: #expect(w.run(["rotate", "A", "--grace", "1h"]).status == 0)
            case .revoked: #expect(w.run(["revoke", a.id]).status == 0)
            }
            try Self.expectOneStatus(w, a.id, start)
            let expected: KeyStatus
            var r: Output?
            switch transition {
            case "revoke":
                r = w.run(["revoke", a.id])
                expected = .revoked
            case "rotate":
                r = w.run(["rotate", a.id])
                expected = start == .retiring ? .retiring : .revoked
            case "rotate-grace":
                r = w.run(["rotate", a.id, "--grace", "30m"])
                expected = start == .active || start == .retiring ? .retiring : .revoked
            default:
                w.now += 3 * 3600
                expected = start == .active ? .expired : start == .retiring ? .revoked : start
            }
            if let r {
                // A revoked or retiring key cannot be rotated (KEY_REVOKED); everything else works.
                let refused = transition.hasPrefix("rotate") && (start == .revoked || start == .retiring)
                #expect(r.status == (refused ? 5 : 0), "\(transition) from \(start): \(r.stderr)")
                if !refused && transition.hasPrefix("rotate") {
                    let noticed = r.stderr.contains("it is revoked") || r.stderr.contains("revoked now") ? KeyStatus.revoked : .retiring
                    #expect(noticed == expected, "notice \(r.stderr) for \(expected)")
                }
            }
            try Self.expectOneStatus(w, a.id, expected)
            // The limit and the name rule count exactly the active and expired keys.
            let inUse = try w.list(["--all"]).filter { ["active", "expired"].contains($0["status"] as? String) }.count
            #expect(inUse == (try w.list(["--all"]).filter { ($0["revoked_at"] as? String) == nil }.count))
        }
    }

    /// Issue 8 item 10: the reason verify gives for each way a key ends.
    @Test func verifyReasons() throws {
        let w = World()
        try w.create("keep")
        let byHand = try w.create("hand")
        let rotated = try w.create("rot")
        let graced = try w.create("grace")
        let expired = try w.create("exp", ["--expires-in", "1h"])
        #expect(w.run(["revoke", byHand.id]).status == 0)
        let r = w.run(["--json", "rotate", rotated.id])
        let newID = try #require((try object(r.stdout)["new"] as? [String: Any])?["id"] as? String)
        let g = w.run(["--json", "rotate", graced.id, "--grace", "1h"])
        let gracedNew = try #require((try object(g.stdout)["new"] as? [String: Any])?["id"] as? String)
        let t = Self.now
        w.now += 2 * 3600
        let cases: [(String, String)] = [
            (byHand.key, "revoked at \(iso(t))"),
            (rotated.key, "rotated to \(newID) at \(iso(t))"),
            (graced.key, "rotated to \(gracedNew); its grace ended at \(iso(t + 3600))"),
            (expired.key, "expired at \(iso(t + 3600))"),
        ]
        for (key, reason) in cases {
            let answer = w.run(["verify"], stdin: key)
            #expect(answer.stderr.contains(reason), "\(answer.stderr)")
            #expect(!answer.stderr.contains("rotation grace ended") || reason.contains("grace"), "\(answer.stderr)")
        }
    }
}
