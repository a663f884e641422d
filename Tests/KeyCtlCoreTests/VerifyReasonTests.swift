// Why a key no longer verifies, said one way on every path (the design's reasons):
// revoked by hand "revoked at T"; rotated without a grace "rotated to NEW at T"; a
// grace that ran out "rotated to NEW; its grace ended at T"; expired "expired at T".
// One function (VerifyCommand.judge, with KeyRecord.revocationReason) answers the
// single verify, --json and every line of --batch, whether the record came from a
// full read or through the index; these tests hold all five paths to the same text.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct VerifyReasonTests {
    static let hour: Int64 = 3600

    /// A keystore with a key ended each way; each case: name, key, exit status, expected message.
    static func world() throws -> (VerifyWorld, [(String, String, Int32, String)]) {
        let w = VerifyWorld()
        _ = try w.create("keep")
        let byHand = try w.create("hand")
        let rotated = try w.create("rotated")
        let graced = try w.create("graced")
        let expired = try w.create("expired", ["--expires-in", "1h"])
        let late = try w.create("late", ["--expires-in", "1h"])
        let lapsed = try w.create("lapsed", ["--expires-in", "1h"])
        let t = w.now
        #expect(w.run(["revoke", byHand.id]).status == 0)
        func successor(_ r: VerifyWorld.Output) throws -> String {
            let pair = try #require(jsonObject(r.stdout[...]), "\(r.stderr)")
            return try #require((pair["new"] as? [String: Any])?["id"] as? String)
        }
        let rotatedTo = try successor(w.run(["--json", "rotate", rotated.id]))
        let gracedTo = try successor(w.run(["--json", "rotate", graced.id, "--grace", "1h"]))
        w.now += 2 * hour
        // An expired key rotated with a grace is revoked at once: a rotation, no grace.
        let lateTo = try successor(w.run(["--json", "rotate", late.id, "--grace", "1h"]))
        let lapsedTo = try successor(w.run(["--json", "rotate", lapsed.id]))
        let t2 = w.now
        w.now += hour
        func iso(_ t: Timestamp) -> String { RFC3339.format(t) }
        return (
            w,
            [
                ("by hand", byHand.key, 3, "\(byHand.id) (hand) is no longer valid: revoked at \(iso(t))"),
                ("rotated", rotated.key, 3, "\(rotated.id) (rotated) is no longer valid: rotated to \(rotatedTo) at \(iso(t))"),
                (
                    "grace ended", graced.key, 3,
                    "\(graced.id) (graced) is no longer valid: rotated to \(gracedTo); its grace ended at \(iso(t + hour))"
                ),
                ("expired", expired.key, 2, "\(expired.id) (expired) expired at \(iso(t + hour))"),
                // The rotation's time, not the expiry's (the expiry came first; 1.0 and
                // the first keyctl 2 said "rotated to NEW at EXPIRY").
                ("expired, then rotated with a grace", late.key, 3, "\(late.id) (late) is no longer valid: rotated to \(lateTo) at \(iso(t2))"),
                ("expired, then rotated", lapsed.key, 3, "\(lapsed.id) (lapsed) is no longer valid: rotated to \(lapsedTo) at \(iso(t2))"),
            ]
        )
    }

    /// The message of a --json answer (single, or one line of --batch).
    static func message(_ json: Substring) -> String? { jsonObject(json)?["message"] as? String }

    static func expectEveryPath(_ w: VerifyWorld, _ cases: [(String, String, Int32, String)], via path: String) {
        for (what, key, status, message) in cases {
            let human = w.run(["verify", "--no-stamp"], stdin: key + "\n")
            #expect(human.status == status, "\(what), \(path)")
            #expect(human.stderr == "keyctl: \(message)\n", "\(what), human, \(path)")
            let json = w.run(["--json", "verify", "--no-stamp"], stdin: key + "\n")
            #expect(json.status == status, "\(what), --json, \(path)")
            #expect(Self.message(json.stdout[...]) == message, "\(what), --json, \(path): \(json.stdout)")
        }
        let batch = w.run(["verify", "--batch", "--no-stamp"], chunks: [Array(cases.map { $0.1 + "\n" }.joined().utf8)])
        let lines = batch.stdout.split(separator: "\n")
        #expect(lines.count == cases.count, "\(batch.stdout)")
        for ((what, _, _, message), line) in zip(cases, lines) {
            #expect(Self.message(line) == message, "\(what), --batch, \(path): \(line)")
        }
    }

    @Test func everyPathGivesTheSameReasonFromAFullRead() throws {
        let (w, cases) = try Self.world()
        w.system.indexSettleTime = 1e9  // never settled: no index is written or used
        Self.expectEveryPath(w, cases, via: "full read")
        #expect(!FileManager.default.fileExists(atPath: w.keystore + ".index"))
    }

    @Test func everyPathGivesTheSameReasonThroughTheIndex() throws {
        let (w, cases) = try Self.world()
        w.system.indexSettleTime = 0
        // The first verify reads everything and leaves an index of the keystore as it is.
        #expect(w.run(["verify", "--no-stamp"], stdin: cases[0].1 + "\n").status == 3)
        var keystore = stat()
        var index = stat()
        try #require(stat(w.keystore, &keystore) == 0 && stat(w.keystore + ".index", &index) == 0, "no index was written")
        #expect((index.st_mtim.tv_sec, index.st_mtim.tv_nsec) >= (keystore.st_ctim.tv_sec, keystore.st_ctim.tv_nsec))
        Self.expectEveryPath(w, cases, via: "index")
        // Nothing rewrote the keystore, so every answer above could come from that index.
        var after = stat()
        #expect(stat(w.keystore, &after) == 0 && after.st_ino == keystore.st_ino && after.st_ctim.tv_nsec == keystore.st_ctim.tv_nsec)
    }
}
