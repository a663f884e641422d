// A write finds which records changed once (RecordChanges) and the audit entry and
// the splice follow from it. Held here to the whole-keystore answers they replace:
// the log entry is exactly the dictionary diff of every record, the spliced file
// exactly a full encode, on random changes (seeds printed).

import Testing

@testable import KeyCtlCore

@Suite struct RecordChangesTests {
    /// The audit entry's keys as they were computed before RecordChanges: a dictionary
    /// of every old record by id, every new record compared field by field.
    static func referenceDifferences(from before: Keystore?, to after: Keystore) -> [LogKey] {
        var old: [String: KeyRecord] = [:]
        for record in before?.keys ?? [] { old[record.id] = record }
        var keys: [LogKey] = []
        for record in after.keys {
            let previous = old.removeValue(forKey: record.id)
            let changes = AuditEntry.diff(previous, record)
            if !changes.isEmpty { keys.append(LogKey(id: record.id, name: record.name, hint: record.hint, changes: changes)) }
        }
        for record in before?.keys ?? [] where old[record.id] != nil {
            keys.append(LogKey(id: record.id, name: record.name, hint: record.hint, changes: AuditEntry.diff(record, nil)))
        }
        return keys
    }

    /// A random change of the kinds commands make (and some they do not: a moved record).
    static func change(_ before: Keystore, _ rng: inout SplitMix) -> Keystore {
        var new = before
        let (extra, _) = KeystoreIndexTests.keystore(seed: rng.next(), count: 4)
        for _ in 0..<(1 + rng.below(4)) {
            let n = new.keys.count
            switch rng.below(9) {
            case 0 where n > 0: new.keys[rng.below(n)].revokedAt = 1_900_000_000 + Int64(rng.below(100))
            case 1 where n > 0: new.keys[rng.below(n)].name = "renamed \(rng.below(1000))"
            case 2 where n > 0: new.keys[rng.below(n)].lastUsedAt = 1_900_000_000  // not logged, but written
            case 3 where n > 0: new.keys.remove(at: rng.below(n))
            case 4 where n > 1: new.keys.swapAt(rng.below(n), rng.below(n))
            case 5:
                var r = extra.keys[rng.below(4)]
                r.id = "key_new\(rng.below(1_000_000))"
                if !new.keys.contains(where: { $0.id == r.id }) { new.keys.append(r) }
            case 6 where n > 0:
                // A record moved to the end.
                let r = new.keys.remove(at: rng.below(n))
                new.keys.append(r)
            case 7 where n > 2: new.keys.removeSubrange(rng.below(n / 2)..<(n / 2 + rng.below(n / 2)))
            case 8 where n > 0: new.keys[rng.below(n)].permissions = [.read, .write]
            default: new.maxKeys += 1
            }
        }
        return new
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func theLogEntryAndTheSpliceAreTheWholeKeystoresAnswer(seed: UInt64) throws {
        print("RecordChangesTests seed \(seed)")
        var rng = SplitMix(state: seed)
        for round in 0..<150 {
            let (before, _) = KeystoreIndexTests.keystore(seed: rng.next(), count: rng.below(3) == 0 ? rng.below(4) : 20 + rng.below(80))
            let after = rng.below(10) == 0 ? before : Self.change(before, &rng)
            let changes = RecordChanges.between(before.keys, after.keys)
            #expect(changes == RecordChanges.byID(before.keys, after.keys), "seed \(seed) round \(round)")
            #expect(changes.isEmpty == (before.keys == after.keys), "seed \(seed) round \(round)")
            let entry = AuditEntry.differences(from: before, to: after, changes: changes)
            #expect(entry.keys == Self.referenceDifferences(from: before, to: after), "seed \(seed) round \(round)")
            #expect(AuditEntry.differences(from: nil, to: after).keys == Self.referenceDifferences(from: nil, to: after))
            let (splice, bytes) = try KeystoreSpliceTests.splice(after, from: before)
            let s = try #require(splice)
            #expect(bytes == KeystoreCodec.encode(after), "seed \(seed) round \(round)")
            #expect(s.changed == (before != after), "seed \(seed) round \(round)")
        }
    }

    /// The same random changes made to a keystore as a write reads it (revoked records
    /// kept as bytes, KeyRecords.swift) and to the same keystore fully built: the same
    /// changes found, the same audit entry, the same spliced bytes.
    @Test(arguments: [5, 6, 7] as [UInt64])
    func recordsKeptAsBytesGiveTheSameAnswers(seed: UInt64) throws {
        print("RecordChangesTests bytes seed \(seed)")
        var rng = SplitMix(state: seed)
        for round in 0..<100 {
            let (before, _) = KeystoreIndexTests.keystore(seed: rng.next(), count: rng.below(3) == 0 ? rng.below(4) : 20 + rng.below(80))
            let old = KeystoreCodec.encode(before)
            let file = KeystoreBytes(copying: old)
            let (lazy, ranges) = try KeystoreFile(path: "/nonexistent/keystore.json").decodeForChange(file)
            #expect(lazy == before, "seed \(seed) round \(round)")
            #expect(before.keys.count < 4 || lazy.keys.indices.contains { lazy.keys.isStored($0) }, "seed \(seed) round \(round)")
            var copy = rng
            let after = rng.below(10) == 0 ? before : Self.change(before, &rng)
            let lazyAfter = copy.below(10) == 0 ? lazy : Self.change(lazy, &copy)
            #expect(lazyAfter == after, "seed \(seed) round \(round)")
            let changes = RecordChanges.between(lazy.keys, lazyAfter.keys)
            #expect(changes == RecordChanges.between(before.keys, after.keys), "seed \(seed) round \(round)")
            #expect(changes == RecordChanges.byID(lazy.keys, lazyAfter.keys), "seed \(seed) round \(round)")
            let entry = AuditEntry.differences(from: lazy, to: lazyAfter, changes: changes)
            #expect(entry.keys == Self.referenceDifferences(from: before, to: after), "seed \(seed) round \(round)")
            let spliced = KeystoreSplice.make(lazyAfter, before: lazy, old: file.raw, ranges: ranges, changes: changes)
                .map { s in s.withBuffers { $0.reduce(into: [UInt8]()) { $0 += $1 } } }
            #expect(spliced == KeystoreCodec.encode(after), "seed \(seed) round \(round)")
        }
    }

    @Test func commandsShapesTakeTheWalkNotTheDictionary() {
        let (before, _) = KeystoreIndexTests.keystore(seed: 3, count: 50)
        var after = before
        after.keys[7].revokedAt = 1_900_000_000
        after.keys.removeSubrange(20..<30)
        after.keys.append(KeystoreIndexTests.keystore(seed: 4, count: 1).0.keys[0])
        after.keys[after.keys.count - 1].id = "key_appended"
        let walked = RecordChanges.inOrder(before.keys, after.keys)
        #expect(walked == RecordChanges.byID(before.keys, after.keys))
        #expect(walked?.differing == [7, after.keys.count - 1])
        #expect(walked?.removed == Array(20..<30))
        // A moved record is not the walk's case.
        var moved = before
        moved.keys.append(moved.keys.remove(at: 5))
        #expect(RecordChanges.inOrder(before.keys, moved.keys) == nil)
        #expect(RecordChanges.between(before.keys, moved.keys).reordered)
    }
}
