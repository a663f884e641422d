// Last-used times as every command shows them: the newer of the keystore record's
// `last_used_at` and its stamps in the usage file, for writers' --json (revoke,
// rotate) exactly as for list and show; and stamps that go with their keys when a
// write removes records.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct UsageMergeTests {
    /// The stored `last_used_at` of every key, by id (the keystore itself, not merged).
    func stored(_ w: World) throws -> [String: Timestamp?] {
        let bytes = try #require(w.bytes())
        let keystore = try KeystoreFile(path: w.keystore).decode(bytes)
        return Dictionary(uniqueKeysWithValues: keystore.keys.map { ($0.id, $0.lastUsedAt) })
    }

    func usageTimes(_ w: World) -> [UsageFile.Prefix: Timestamp] {
        KeystoreFile(path: w.keystore).usageFile().times()
    }

    @Test func writersShowLastUsedMergedLikeListAndShow() throws {
        let w = World()
        let a = try w.create("a")
        let b = try w.create("b")
        _ = try w.create("c")
        let used = w.now
        #expect(w.verify(a.key) == 0)
        #expect(w.verify(b.key) == 0)
        w.now += 3600
        // verify stamped the usage file, not the keystore.
        #expect(try stored(w)[a.id]! == nil)
        #expect(usageTimes(w).count == 2)
        #expect(try w.record(b.id)["last_used_at"] as? String == iso(used))

        let revoked = w.run(["revoke", b.id, "--json"])
        try #require(revoked.status == 0, "\(revoked.stderr)")
        let revokedRecords = try #require(parse(revoked.stdout) as? [[String: Any]])
        #expect(revokedRecords.count == 1)
        #expect(revokedRecords[0]["last_used_at"] as? String == iso(used))

        let rotated = w.run(["rotate", a.id, "--json"])
        try #require(rotated.status == 0, "\(rotated.stderr)")
        let rotation = try object(rotated.stdout)
        #expect((rotation["old"] as? [String: Any])?["last_used_at"] as? String == iso(used))
        #expect((rotation["new"] as? [String: Any])?["last_used_at"] is NSNull)

        // rotate --expiring-within prints the same record shape (an array).
        let due = try w.create("due", ["--expires-in", "1h"])
        #expect(w.verify(due.key) == 0)
        let dueUsed = w.now
        w.now += 60
        let batch = w.run(["rotate", "--expiring-within", "2h", "--json"])
        try #require(batch.status == 0, "\(batch.stderr)")
        let rotations = try #require(parse(batch.stdout) as? [[String: Any]])
        #expect(rotations.count == 1)
        #expect((rotations.first?["old"] as? [String: Any])?["last_used_at"] as? String == iso(dueUsed))

        // What a writer printed is what list and show print for the same key now.
        for (id, when) in [(b.id, used), (a.id, used), (due.id, dueUsed)] {
            #expect(try w.record(id)["last_used_at"] as? String == iso(when))
            #expect(try w.list().first { $0["id"] as? String == id }?["last_used_at"] as? String == iso(when))
        }
        // And the writers did not copy the usage into the keystore.
        #expect(try stored(w)[b.id]! == nil)
    }

    @Test func theNewerOfTheRecordAndTheStampWins() throws {
        let w = World()
        let a = try w.create("a")
        _ = try w.create("b")
        // An old stamp, and a newer last_used_at in the record (a 1.0 keystore has them).
        let usage = KeystoreFile(path: w.keystore).usageFile()
        let digest = try #require(KeystoreFile(path: w.keystore).load().keys.first { $0.id == a.id }?.digest)
        usage.stamp(try #require(UsageFile.Prefix(hex: digest.utf8)), at: w.now - 7200)
        _ = try KeystoreFile(path: w.keystore).update { keystore, _ in
            keystore.keys[keystore.index(of: a.id)!].lastUsedAt = w.now - 60
        }
        let revoked = w.run(["revoke", a.id, "--json"])
        try #require(revoked.status == 0, "\(revoked.stderr)")
        #expect((parse(revoked.stdout) as? [[String: Any]])?.first?["last_used_at"] as? String == iso(w.now - 60))
    }

    @Test func stampsOfRemovedKeysAreDroppedByTheWriteThatRemovesThem() throws {
        let w = World()
        let a = try w.create("a")
        let b = try w.create("b")
        let c = try w.create("c")
        for key in [a, b, c] { #expect(w.verify(key.key) == 0) }
        #expect(usageTimes(w).count == 3)
        let file = KeystoreFile(path: w.keystore)
        let digests = Dictionary(uniqueKeysWithValues: try file.load().keys.map { ($0.id, UsageFile.Prefix(hex: $0.digest.utf8)!) })

        // A write that removes nothing keeps every stamp.
        #expect(w.run(["revoke", b.id]).status == 0)
        #expect(Set(usageTimes(w).keys) == Set(digests.values))

        // A write that removes b's record (what prune does) drops b's stamp, keeps the others'.
        _ = try file.update { keystore, _ in keystore.keys.removeAll { $0.id == b.id } }
        let left = usageTimes(w)
        #expect(Set(left.keys) == [digests[a.id]!, digests[c.id]!])
        #expect(left[digests[a.id]!] == w.now)
        // The remaining keys still show their last use.
        #expect(try w.record(a.id)["last_used_at"] as? String == iso(w.now))
    }

    @Test func aWriteWithoutAUsageFileMakesNone() throws {
        let w = World()
        _ = try w.create("a")
        let b = try w.create("b")
        _ = try KeystoreFile(path: w.keystore).update { keystore, _ in keystore.keys.removeAll { $0.id == b.id } }
        #expect(!FileManager.default.fileExists(atPath: w.keystore + ".usage"))
    }
}
