// Keystore format versions (keyctl(1) Format). The version 1 keystores in Tests/Fixtures/v1
// were made by keyctl 1.0 itself (Tests/Fixtures/make-v1-fixtures). keyctl 2 reads
// each as it is, and its first write upgrades it to version 2, keeping the old file
// byte for byte as PATH.v1: every field kept, every key still verifying the same.

import Foundation
import Testing

@testable import KeyCtlCore

struct Fixture: CustomTestStringConvertible, Sendable {
    let name: String
    var testDescription: String { name }

    static let all = ["empty", "basic", "rotated", "lifecycle", "unicode"].map(Fixture.init)

    func bytes() throws -> [UInt8] { try Repository.bytes("Tests/Fixtures/v1/\(name).json") }

    /// (name, key) for the keys the fixture script kept.
    func keys() throws -> [(String, String)] {
        String(decoding: try Repository.bytes("Tests/Fixtures/v1/\(name).keys"), as: UTF8.self)
            .split(separator: "\n").map { line in
                let parts = line.split(separator: "\t")
                return (String(parts[0]), String(parts[1]))
            }
    }

    /// The fixture's records as JSON objects.
    func records() throws -> [[String: Any]] {
        let top = try #require(try JSONSerialization.jsonObject(with: Data(bytes())) as? [String: Any])
        return try #require(top["keys"] as? [[String: Any]])
    }

    /// A moment just after the fixture was made: its newest time plus a few seconds.
    func madeAt() throws -> Timestamp {
        let times = try records().compactMap { ($0["created_at"] as? String).flatMap { RFC3339.parse(Array($0.utf8)) } }
        return (times.max() ?? 1_800_000_000) + 5
    }
}

/// The fields keyctl 1.0 stored, which --json prints under the same names.
let version1Fields = [
    "id", "name", "hint", "environment", "permissions", "created_at", "expires_at", "revoked_at", "last_used_at", "rotated_from", "rotated_to",
]

func sameJSON(_ a: Any?, _ b: Any?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (is NSNull, nil), (nil, is NSNull), (is NSNull, is NSNull): return true
    case (let x as String, let y as String): return x == y
    case (let x as [String], let y as [String]): return x == y
    default: return false
    }
}

@Suite struct FormatUpgradeTests {
    func world(_ fixture: Fixture) throws -> (World, [UInt8]) {
        let w = World()
        let bytes = try fixture.bytes()
        w.write(String(decoding: bytes, as: UTF8.self))
        #expect(w.bytes() == bytes)
        w.now = try fixture.madeAt()
        return (w, bytes)
    }

    /// verify's answer for each of the fixture's keys. The test holds the keystore's
    /// lock meanwhile, so verify (which stamps last_used_at only when it can have the
    /// lock at once) leaves the file as it is.
    func verdicts(_ w: World, _ fixture: Fixture) throws -> [Int32] {
        let lock = open(w.keystore + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(lock >= 0 && flock(lock, LOCK_EX) == 0)
        defer { close(lock) }
        return try fixture.keys().map { w.verify($0.1) }
    }

    @Test(arguments: Fixture.all) func version1IsReadAndUpgradedOnTheFirstWrite(_ fixture: Fixture) throws {
        let (w, original) = try world(fixture)
        let v1Path = w.keystore + ".v1"

        // Read as it is: every record, every field; verify answers; nothing written.
        _ = try w.list()
        let stored = try fixture.records()
        for record in stored {
            let shown = try w.record(try #require(record["id"] as? String))
            for field in version1Fields {
                #expect(sameJSON(shown[field], record[field]), "\(fixture.name) \(field): \(shown[field] ?? "nil") vs \(record[field] ?? "nil")")
            }
            #expect(shown["description"] is NSNull)
        }
        let before = try verdicts(w, fixture)
        #expect(before.contains(0) || fixture.name == "empty", "no key of \(fixture.name) verifies: \(before)")
        #expect(w.bytes() == original, "reading changed the version 1 file")
        #expect(!FileManager.default.fileExists(atPath: v1Path))

        // The first write upgrades it and keeps the old file as PATH.v1.
        let probe = try w.create("upgrade probe", ["--description", "made after the upgrade"])
        #expect(try Repository.fileBytes(v1Path) == original, "PATH.v1 is not the version 1 file byte for byte")
        #expect(mode(v1Path) == 0o600)
        let upgraded = try #require(w.bytes())
        #expect(upgraded.starts(with: Array("{\"version\":2,".utf8)))
        let keystore = try KeystoreCodec.decode(upgraded)
        #expect(keystore.version == 2 && keystore.upgradedFrom == nil && keystore.log != nil)
        #expect(keystore.keys.count == stored.count + 1)
        for record in stored {
            let shown = try w.record(try #require(record["id"] as? String))
            // last_used_at as shown may be newer (verify records uses beside the file); the stored one is kept.
            for field in version1Fields where field != "last_used_at" {
                #expect(sameJSON(shown[field], record[field]), "after the upgrade, \(fixture.name) \(field)")
            }
            let kept = try #require(keystore.keys.first { $0.id == record["id"] as? String })
            #expect(kept.lastUsedAt.map(RFC3339.format) == record["last_used_at"] as? String)
        }
        #expect(try verdicts(w, fixture) == before, "verify answers differently after the upgrade")
        #expect(try w.record(probe.id)["description"] as? String == "made after the upgrade")

        // A second write does not upgrade again: PATH.v1 is neither rewritten nor re-made.
        try FileManager.default.removeItem(atPath: v1Path)
        #expect(w.run(["rotate", probe.id]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: v1Path))
        #expect(try KeystoreCodec.decode(try #require(w.bytes())).version == 2)
    }

    @Test func aPathV1ThatIsNotOursIsNeverOverwritten() throws {
        let fixture = Fixture(name: "basic")
        let (w, original) = try world(fixture)
        let v1Path = w.keystore + ".v1"
        let other = Array("someone else's file\n".utf8)
        _ = FileManager.default.createFile(atPath: v1Path, contents: Data(other), attributes: [.posixPermissions: 0o600])
        let failure = w.expectFailure(["create", "x"], .ioError)
        #expect(failure.line.contains(".v1") && failure.line.contains("move"), "\(failure.line)")
        #expect(w.bytes() == original)
        #expect(try Repository.fileBytes(v1Path) == other)

        // A symbolic link there is not followed either.
        try FileManager.default.removeItem(atPath: v1Path)
        let target = w.directory + "/elsewhere"
        _ = FileManager.default.createFile(atPath: target, contents: Data(other), attributes: [.posixPermissions: 0o600])
        try FileManager.default.createSymbolicLink(atPath: v1Path, withDestinationPath: target)
        w.expectFailure(["create", "x"], .permissionDenied)
        #expect(w.bytes() == original)
        #expect(try Repository.fileBytes(target) == other)
    }

    @Test func aPathV1LeftByAnUnfinishedUpgradeIsKept() throws {
        let (w, original) = try world(Fixture(name: "basic"))
        let v1Path = w.keystore + ".v1"
        _ = FileManager.default.createFile(atPath: v1Path, contents: Data(original), attributes: [.posixPermissions: 0o600])
        try w.create("x")
        #expect(try Repository.fileBytes(v1Path) == original)
        #expect(try KeystoreCodec.decode(try #require(w.bytes())).version == 2)
    }

    @Test func anUpgradeWhoseKeyCannotBePrintedIsUndone() throws {
        let (w, original) = try world(Fixture(name: "basic"))
        w.stdoutWorks = false
        #expect(w.run(["create", "x"]).status == ErrorCode.ioError.exitStatus)
        #expect(w.bytes() == original)
        // The copy it made is the same bytes, so the next upgrade goes ahead.
        w.stdoutWorks = true
        try w.create("x")
        #expect(try Repository.fileBytes(w.keystore + ".v1") == original)
    }

    /// The fuzzer's find: a version 1 keystore encoded as read wrote "version":2 without
    /// the "log" field version 2 requires, so it did not decode again.
    @Test(arguments: Fixture.all) func aVersion1KeystoreEncodedAsReadDecodesAgain(_ fixture: Fixture) throws {
        let read = try KeystoreCodec.decode(try fixture.bytes())
        #expect(read.version == 1)
        let again = try KeystoreCodec.decode(KeystoreCodec.encode(read))
        #expect(again.version == 2)
        #expect(again.log == nil)
        #expect(again.keys == read.keys)
        #expect(again.maxKeys == read.maxKeys && again.prefix == read.prefix)
    }

    @Test func aNewerVersionIsRefusedAndSaysToUpgradeKeyctl() throws {
        let w = World()
        let text = "{\"version\":3,\"prefix\":\"ak\",\"max_keys\":10,\"log\":null,\"keys\":[\n]}\n"
        w.write(text)
        let failure = w.expectFailure(["list"], .keystoreCorrupt)
        #expect(failure.line.contains("newer keyctl") && failure.line.contains("upgrade keyctl"), "\(failure.line)")
        w.expectFailure(["create", "x"], .keystoreCorrupt)
        #expect(!FileManager.default.fileExists(atPath: w.keystore + ".v1"))
    }

    @Test func theLogHeadRoundTripsAndIsRequiredInVersion2() throws {
        var keystore = Keystore()
        #expect(try KeystoreCodec.decode(KeystoreCodec.encode(keystore)) == keystore)
        keystore.log = LogHead(seq: 42, hash: String(repeating: "ab", count: 32))
        let bytes = KeystoreCodec.encode(keystore)
        #expect(
            String(decoding: bytes, as: UTF8.self).hasPrefix("{\"version\":2,\"prefix\":\"ak\",\"max_keys\":10,\"log\":{\"seq\":42,\"hash\":\"abab"))
        #expect(try KeystoreCodec.decode(bytes) == keystore)
        for bad in [
            "{\"version\":2,\"prefix\":\"ak\",\"max_keys\":10,\"keys\":[]}",
            "{\"version\":1,\"prefix\":\"ak\",\"max_keys\":10,\"log\":null,\"keys\":[]}",
            "{\"version\":2,\"prefix\":\"ak\",\"max_keys\":10,\"log\":{\"seq\":1},\"keys\":[]}",
            "{\"version\":2,\"prefix\":\"ak\",\"max_keys\":10,\"log\":{\"seq\":1,\"hash\":\"AB\"},\"keys\":[]}",
            "{\"version\":2,\"prefix\":\"ak\",\"max_keys\":10,\"log\":{\"seq\":1,\"hash\":\"\(String(repeating: "a", count: 64))\",\"x\":1},\"keys\":[]}",
        ] {
            #expect(throws: KeystoreFault.self, "\(bad)") { try KeystoreCodec.decode(Array(bad.utf8)) }
        }
    }

    @Test func verifyNeverRewritesAVersion1File() throws {
        let (w, original) = try world(Fixture(name: "basic"))
        let key = try #require(try Fixture(name: "basic").keys().first).1
        w.now += 3600
        #expect(w.verify(key) == 0)
        #expect(w.bytes() == original)
        #expect(!FileManager.default.fileExists(atPath: w.keystore + ".v1"))
    }
}

extension Repository {
    static func fileBytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
