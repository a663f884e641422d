// verify stamps last_used_at by splicing one re-encoded record into the old bytes.
// These tests hold the splice to what a full re-encode would write, and to leaving
// every other byte alone when the file is laid out by hand.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct StampTests {
    @Test func stampOfACanonicalKeystoreEqualsAFullReencode() throws {
        let (keystore, keys) = KeystoreIndexTests.keystore(seed: 21, count: 40)
        let place = try KeystoreIndexTests.Place(keystore)
        for i in [0, 20, 39] {
            #expect(place.file.stamp(digest: Array(keys[i].digest.utf8), at: 1_900_000_000 + Int64(i)))
        }
        var expected = keystore
        for i in [0, 20, 39] { expected.keys[i].lastUsedAt = 1_900_000_000 + Int64(i) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: place.path)) == Data(KeystoreCodec.encode(expected)))
    }

    @Test func stampThroughTheIndexFindsTheSameRecord() throws {
        let (keystore, keys) = KeystoreIndexTests.keystore(seed: 22, count: 30)
        let place = try KeystoreIndexTests.Place(keystore)
        _ = try place.file.lookup(digest: nil)  // leaves an index
        #expect(FileManager.default.fileExists(atPath: place.indexPath))
        #expect(place.file.stamp(digest: Array(keys[17].digest.utf8), at: 1_900_000_017))
        let after = try KeystoreFile(path: place.path).load()
        #expect(after.keys[17].lastUsedAt == 1_900_000_017)
        #expect(after.keys.enumerated().allSatisfy { $0.offset == 17 || $0.element == keystore.keys[$0.offset] })
    }

    @Test func stampLeavesAHandLaidOutKeystoreAsItWasButForThatRecord() throws {
        let (keystore, keys) = KeystoreIndexTests.keystore(seed: 23, count: 3)
        let place = try KeystoreIndexTests.Place(keystore)
        // Pretty-print by hand: other whitespace, other field order at the top.
        let records = keystore.keys.map { String(decoding: KeystoreCodec.encode($0), as: UTF8.self) }
        let hand =
            "{\n  \"keys\": [\n    " + records.joined(separator: ",\n    ")
            + "\n  ],\n  \"max_keys\": 1000, \"prefix\": \"ix\",\n  \"version\": 1\n}\n"
        try KeystoreFile(path: place.path).write(Array(hand.utf8))
        #expect(place.file.stamp(digest: Array(keys[1].digest.utf8), at: 1_900_000_001))
        var stamped = keystore.keys[1]
        stamped.lastUsedAt = 1_900_000_001
        let expected = hand.replacingOccurrences(of: records[1], with: String(decoding: KeystoreCodec.encode(stamped), as: UTF8.self))
        #expect(try String(contentsOfFile: place.path, encoding: .utf8) == expected)
    }

    @Test func stampRefusesACorruptKeystoreAndAnUnknownDigest() throws {
        let (keystore, keys) = KeystoreIndexTests.keystore(seed: 24, count: 5)
        let place = try KeystoreIndexTests.Place(keystore)
        let stranger = APIKey.generate(prefix: "ix", environment: .live, randomBytes: systemRandomBytes)
        let before = try Data(contentsOf: URL(fileURLWithPath: place.path))
        #expect(!place.file.stamp(digest: Array(stranger.digest.utf8), at: 1_900_000_000))
        #expect(try Data(contentsOf: URL(fileURLWithPath: place.path)) == before)
        var broken = [UInt8](before)
        broken.insert(contentsOf: Array(",\"extra\":1".utf8), at: broken.count - 4)
        try KeystoreFile(path: place.path).write(broken)
        #expect(!place.file.stamp(digest: Array(keys[4].digest.utf8), at: 1_900_000_000))
        #expect(try Data(contentsOf: URL(fileURLWithPath: place.path)) == Data(broken))
    }

    @Test func stampDoesNotWaitForABusyLock() throws {
        let (keystore, keys) = KeystoreIndexTests.keystore(seed: 25, count: 2)
        let place = try KeystoreIndexTests.Place(keystore)
        let holder = open(place.path + ".lock", O_RDWR | O_CREAT, 0o600)
        defer { close(holder) }
        #expect(flock(holder, LOCK_EX) == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: place.path))
        #expect(!place.file.stamp(digest: Array(keys[1].digest.utf8), at: 1_900_000_000))
        #expect(try Data(contentsOf: URL(fileURLWithPath: place.path)) == before)
    }
}
