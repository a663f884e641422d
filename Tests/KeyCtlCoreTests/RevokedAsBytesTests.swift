// A write keeps revoked records as their bytes (KeyRecords.swift) and builds only the
// others. Held here to the write that builds every record: the same random commands
// on two copies of one keystore with many revoked records, one copy written each way,
// must give the same exit status, output, keystore bytes and audit log bytes after
// every command (seeds printed). And the hot paths of a write build no stored record.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct RevokedAsBytesTests {
    static let now: Timestamp = 1_800_000_000

    /// `count` records: most revoked (some by rotation, some with a revoked_at after
    /// `now`: retiring), some active (some expiring soon), some expired, a few with
    /// names the canonical scanner does not take (escapes).
    static func history(_ rng: inout SplitMix, count: Int) -> Keystore {
        var records: [KeyRecord] = []
        for i in 0..<count {
            let key = APIKey.generate(prefix: "ak", environment: i % 5 == 0 ? .test : .live, randomBytes: { rng.bytes($0) })
            var r = KeyRecord(
                id: "key_h\(i)", name: i % 17 == 0 ? "caf\u{E9} \"\(i)\"" : "n\(i % 40)", digest: key.digest, hint: key.hint,
                environment: key.environment, permissions: i % 3 == 0 ? [.read, .write] : .read, createdAt: 1_700_000_000 + Int64(i) * 60)
            switch rng.below(20) {
            case 0, 1:  // in use; names must stay unique among keys in use
                r.name = "live\(i)"
                if rng.below(2) == 0 { r.expiresAt = now + Int64(rng.below(4)) * 3600 + 60 }
            case 2:
                r.name = "old\(i)"
                r.expiresAt = now - 100
            case 3:  // retiring: rotated with a grace still running
                r.rotatedTo = "key_h\(i + 1)"
                r.revokedAt = now + 600 + Int64(rng.below(3000))
                r.expiresAt = rng.below(2) == 0 ? now + 5000 : nil
            case 4:  // rotated, its grace ended
                r.rotatedTo = "key_h\(i + 1)"
                r.revokedAt = 1_700_000_000 + Int64(i) * 60 + 30
                r.expiresAt = r.revokedAt! - 10
            default:
                r.revokedAt = 1_700_000_000 + Int64(i) * 60 + Int64(rng.below(50_000))
                if rng.below(4) == 0 { r.description = "revoked \(i)" }
                if rng.below(5) == 0 { r.lastUsedAt = r.createdAt + 5 }
            }
            records.append(r)
        }
        return Keystore(prefix: "ak", maxKeys: 200, keys: records)
    }

    /// The keystore's bytes with the log file's inode and ctime (which differ between
    /// two directories) blanked.
    static func comparable(_ bytes: [UInt8]?) -> String {
        let text = String(decoding: bytes ?? [], as: UTF8.self)
        return text.replacingOccurrences(of: #""inode":\d+,"ctime":\d+"#, with: "\"inode\":0,\"ctime\":0", options: .regularExpression)
    }

    /// One random command line, with references taken from `keystore`.
    static func command(_ rng: inout SplitMix, _ keystore: Keystore, step: Int) -> [String] {
        let keys = keystore.keys
        func reference() -> String {
            guard !keys.isEmpty else { return "nobody" }
            let i = rng.below(keys.count)
            switch rng.below(4) {
            case 0: return keys.id(at: i)
            case 1: return keys[i].name
            case 2:
                let inUse = keys.inUseIndices()
                return inUse.isEmpty ? keys.id(at: i) : keys[inUse[rng.below(inUse.count)]].name
            default: return keys.id(at: rng.below(2) == 0 ? i : keys.count - 1 - rng.below(min(keys.count, 8)))
            }
        }
        var line: [String] = rng.below(4) == 0 ? ["--json"] : []
        switch rng.below(12) {
        case 0, 1: line += ["create", "new\(step)"] + (rng.below(2) == 0 ? ["--expires-in", "2h"] : [])
        case 2:
            let inUse = keys.inUseIndices()
            line += ["create", inUse.isEmpty ? "taken" : keys[inUse[rng.below(inUse.count)]].name]
        case 3, 4: line += ["revoke", reference()] + (rng.below(3) == 0 ? [reference()] : [])
        case 5: line += ["rotate", reference()] + (rng.below(2) == 0 ? ["--grace", "1h"] : [])
        case 6: line += ["rotate", "--expiring-within", "3h", "--expires-in", "30d"]
        case 7: line += ["update", reference(), "--name", rng.below(2) == 0 ? "renamed\(step)" : "n\(rng.below(40))"]
        case 8:
            line += ["update", reference()]
            line += rng.below(2) == 0 ? ["--description", "d\(step)"] : ["--permissions", "read,webhook", "--no-expiry"]
        case 9: line += ["prune", "--revoked-before", ["0s", "1d", "400d", "10000d"][rng.below(4)]]
        case 10: line += ["config", "--max-keys", String(10 + rng.below(200))]
        default: line += ["show", reference()]
        }
        return line
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func theSameCommandsWriteTheSameBytesAsTheWriteThatBuildsEveryRecord(seed: UInt64) throws {
        print("RevokedAsBytesTests seed \(seed)")
        var rng = SplitMix(state: seed)
        let bytes = KeystoreCodec.encode(Self.history(&rng, count: 300 + rng.below(200)))
        let lazy = World(seed: seed), reference = World(seed: seed)
        reference.system.keepsRevokedAsBytes = false
        for world in [lazy, reference] {
            world.now = Self.now
            world.write(String(decoding: bytes, as: UTF8.self))
        }
        var stepsThatWrote = 0
        for step in 0..<140 {
            // The clock moves on, and sometimes back before revoked_at times (revoked
            // records read as retiring then).
            let now: Timestamp
            switch rng.below(10) {
            case 0: now = 1_700_000_000 + Int64(rng.below(300 * 60 + 50_000))
            case 1: now = Self.now + 600 + Int64(rng.below(3000))
            default: now = max(lazy.now, Self.now) + Int64(rng.below(2000))
            }
            lazy.now = now
            reference.now = now
            let model = try KeystoreFile(path: reference.keystore).load()
            let line = Self.command(&rng, model, step: step)
            let before = reference.bytes()
            let a = lazy.run(line), b = reference.run(line)
            let context = "seed \(seed) step \(step): \(line.joined(separator: " "))"
            #expect(a.status == b.status, "\(context)")
            // Paths differ: each world has its own directory.
            let (outA, outB) = (
                a.stdout.replacingOccurrences(of: lazy.directory, with: "DIR"), b.stdout.replacingOccurrences(of: reference.directory, with: "DIR")
            )
            #expect(outA == outB, "\(context)")
            #expect(
                a.stderr.replacingOccurrences(of: lazy.directory, with: "DIR") == b.stderr.replacingOccurrences(of: reference.directory, with: "DIR"),
                "\(context)")
            #expect(Self.comparable(lazy.bytes()) == Self.comparable(reference.bytes()), "\(context)")
            let logA = FileManager.default.contents(atPath: lazy.keystore + ".log")
            let logB = FileManager.default.contents(atPath: reference.keystore + ".log")
            #expect(logA == logB, "\(context)")
            if reference.bytes() != before { stepsThatWrote += 1 }
            guard a.status == b.status, outA == outB else { break }
        }
        #expect(stepsThatWrote > 20, "seed \(seed): only \(stepsThatWrote) steps wrote")
        #expect(lazy.run(["log", "--verify"]).status == 0)
    }

    /// What a write reads: every record with revoked_at set stays bytes (names with
    /// escapes too: only the tail and the id are read in place), and
    /// the in-use count, a name, an id, what changed and the splice build none of them.
    @Test func theHotPathsOfAWriteBuildNoStoredRecord() throws {
        var rng = SplitMix(state: 77)
        let history = Self.history(&rng, count: 400)
        let world = World()
        world.write(String(decoding: KeystoreCodec.encode(history), as: UTF8.self))
        let file = KeystoreFile(path: world.keystore)
        let revoked = history.keys.indices.filter { history.keys[$0].revokedAt != nil }
        let lastRevoked = try #require(revoked.last)
        try file.update { keystore, _ in
            let keys = keystore.keys
            #expect(keys.indices.filter { keys.isStored($0) } == revoked)
            #expect(keystore.inUseCount() == history.inUseCount())
            #expect(keys.index(ofID: history.keys[lastRevoked].id) == lastRevoked)
            #expect(keys.index(ofID: "key_nobody") == nil)
            #expect(keystore.index(of: history.keys[lastRevoked].name) == history.index(of: history.keys[lastRevoked].name))
            #expect(keys.id(at: lastRevoked) == history.keys[lastRevoked].id)
            // Read from the bytes in place: rotated records with an earlier expiry included.
            #expect(keys.indices.map { keys.revokedSince(at: $0) } == history.keys.all.map(\.revokedSince))
            #expect(history.keys.all.contains { $0.revokedSince != $0.revokedAt })
            #expect(keys.storedRecordsBuilt == 0)
            // A stored record reads as the record it is.
            #expect(keys.all == history.keys.all)
            keystore.keys.append(
                KeyRecord(
                    id: "key_added", name: "added", digest: String(repeating: "a", count: 64), hint: "ak_live_…aaaa", environment: .live,
                    permissions: .read, createdAt: Self.now))
            let changes = RecordChanges.between(keys, keystore.keys)
            #expect(changes.differing == [keys.count])
            #expect(keystore.keys.indices.filter { keystore.keys.isStored($0) } == revoked)
        }
        let written = try #require(world.bytes())
        var expected = history
        expected.keys.append(
            KeyRecord(
                id: "key_added", name: "added", digest: String(repeating: "a", count: 64), hint: "ak_live_…aaaa", environment: .live,
                permissions: .read, createdAt: Self.now))
        let decoded = try KeystoreCodec.decode(written)
        expected.log = decoded.log
        #expect(written == KeystoreCodec.encode(expected))
    }

    /// A revoked record not laid out as keyctl writes it (spacing a hand edit left) is
    /// built, and reads as the whole-file reader reads it.
    @Test func aRecordNotInKeyctlsLayoutIsBuilt() throws {
        var rng = SplitMix(state: 79)
        let history = Self.history(&rng, count: 60)
        let edited = try #require(history.keys.indices.last { history.keys[$0].revokedAt != nil })
        let lines = String(decoding: KeystoreCodec.encode(history), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var text = lines.map(String.init)
        text[edited + 1] = text[edited + 1].replacingOccurrences(of: ",\"revoked_at\":", with: ", \"revoked_at\" : ")
        let world = World()
        world.write(text.joined(separator: "\n"))
        try KeystoreFile(path: world.keystore).update { keystore, _ in
            #expect(!keystore.keys.isStored(edited))
            #expect(keystore.keys.isStored(edited - 1) || history.keys[edited - 1].revokedAt == nil)
            #expect(keystore.keys.all == history.keys.all)
        }
    }

    /// A stored record changed through any path becomes built and is written as changed;
    /// prune removes stored records without building the ones it keeps.
    @Test func changingOrRemovingAStoredRecord() throws {
        var rng = SplitMix(state: 78)
        let history = Self.history(&rng, count: 200)
        let world = World()
        world.write(String(decoding: KeystoreCodec.encode(history), as: UTF8.self))
        let stored = try #require(history.keys.indices.last { history.keys[$0].revokedAt != nil && !history.keys[$0].name.contains("\"") })
        try KeystoreFile(path: world.keystore).update { keystore, _ in
            #expect(keystore.keys.isStored(stored))
            keystore.keys[stored].description = "changed"
            #expect(!keystore.keys.isStored(stored))
            #expect(keystore.keys[stored].description == "changed")
        }
        let after = try KeystoreFile(path: world.keystore).load()
        #expect(after.keys[stored].description == "changed")
        #expect(after.keys.count == history.keys.count)
        // Prune everything revoked: the stored records go, the built ones stay.
        world.now = Self.now + 10_000
        let r = world.run(["prune", "--revoked-before", "0s"])
        #expect(r.status == 0, "\(r.stderr)")
        let pruned = try KeystoreFile(path: world.keystore).load()
        #expect(pruned.keys.all == history.keys.all.filter { $0.revokedSince.map { $0 > world.now } ?? true })
        #expect(world.run(["log", "--verify"]).status == 0)
    }
}
