// A write reuses the old bytes of unchanged records: the spliced file must be
// exactly what a full encode of the new keystore writes, and a file keyctl did not
// lay out is never spliced.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct KeystoreSpliceTests {
    static func splice(_ new: Keystore, from before: Keystore) throws -> (KeystoreSplice?, [UInt8]) {
        let old = KeystoreCodec.encode(before)
        let (decoded, entries) = try old.withUnsafeBufferPointer { try KeystoreCodec.decodeForIndex($0, onlyDigest: nil) }
        #expect(decoded == before)
        let ranges = entries.map { $0.offset..<($0.offset + $0.length) }
        return old.withUnsafeBytes { raw in
            guard let s = KeystoreSplice.make(new, before: before, old: raw, ranges: ranges) else { return (nil, []) }
            let bytes = s.withBuffers { $0.reduce(into: [UInt8]()) { $0 += $1 } }
            return (s, bytes)
        }
    }

    @Test(arguments: 0..<8) func everyKindOfChangeSplicesToTheFullEncoding(kind: Int) throws {
        let (before, _) = KeystoreIndexTests.keystore(seed: 40 + UInt64(kind), count: 200)
        var new = before
        let (extra, _) = KeystoreIndexTests.keystore(seed: 90, count: 3)
        switch kind {
        case 0: break  // nothing
        case 1: new.keys[100].revokedAt = 1_900_000_000
        case 2: new.keys.append(contentsOf: extra.keys)
        case 3:
            new.keys[0].name = "renamed"
            new.keys[199].lastUsedAt = 1_900_000_001
        case 4: new.keys.removeSubrange(10..<50)
        case 5: new.maxKeys += 1
        case 6: new.keys.swapAt(3, 150)
        default:
            new.keys = []
        }
        let (splice, bytes) = try Self.splice(new, from: before)
        let s = try #require(splice)
        #expect(bytes == KeystoreCodec.encode(new), "kind \(kind)")
        #expect(s.changed == (kind != 0))
        if kind == 1 || kind == 0 {
            #expect(s.parts.count <= 5, "unchanged stretches are written in one piece: \(s.parts.count)")
            #expect(s.fresh.count < 1_000, "only the changed record is encoded")
        }
    }

    @Test func aFileKeyctlDidNotLayOutIsEncodedWhole() throws {
        let (keystore, _) = KeystoreIndexTests.keystore(seed: 50, count: 5)
        let records = keystore.keys.map { String(decoding: KeystoreCodec.encode($0), as: UTF8.self) }
        let hand =
            "{\n  \"keys\": [\n    " + records.joined(separator: ",\n    ")
            + "\n  ],\n  \"max_keys\": 1000, \"prefix\": \"ix\",\n  \"version\": 1\n}\n"
        let old = Array(hand.utf8)
        let (decoded, entries) = try old.withUnsafeBufferPointer { try KeystoreCodec.decodeForIndex($0, onlyDigest: nil) }
        var new = decoded
        new.keys[2].revokedAt = 1_900_000_000
        let made = old.withUnsafeBytes {
            KeystoreSplice.make(new, before: decoded, old: $0, ranges: entries.map { $0.offset..<($0.offset + $0.length) })
        }
        #expect(made == nil)
    }

    /// Through KeystoreFile.update: a write on a keyctl-written keystore leaves it as a full encode would.
    @Test func updateWritesWhatAFullEncodeWould() throws {
        let (keystore, _) = KeystoreIndexTests.keystore(seed: 51, count: 300)
        let place = try KeystoreIndexTests.Place(keystore)
        let file = KeystoreFile(path: place.path)
        var expected = keystore
        expected.keys[150].revokedAt = 1_900_000_000
        try file.update { k, _ in k.keys[150].revokedAt = 1_900_000_000 }
        // The write also records the audit log's head (AuditLog.swift).
        let written = try KeystoreCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: place.path))))
        expected.version = written.version
        expected.log = written.log
        #expect(written.log?.seq == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: place.path)) == Data(KeystoreCodec.encode(expected)))
        // Nothing changed: nothing written (same inode).
        var st1 = stat(), st2 = stat()
        stat(place.path, &st1)
        try file.update { _, _ in }
        stat(place.path, &st2)
        #expect(st1.st_ino == st2.st_ino)
    }
}
