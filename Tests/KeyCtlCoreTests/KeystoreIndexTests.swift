// The index may only ever make verify faster, never change an answer: these tests
// hold lookup-with-index to the full strict read, and make sure a stale, damaged,
// misdirecting, foreign or racy index is ignored.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct KeystoreIndexTests {
    /// A private directory holding a keystore written by keyctl's own encoder.
    final class Place {
        let dir: URL
        var path: String { dir.appendingPathComponent("keystore.json").path }
        var indexPath: String { path + ".index" }

        init(_ keystore: Keystore) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("keyctl-index-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try write(keystore)
        }

        deinit { try? FileManager.default.removeItem(at: dir) }

        func write(_ keystore: Keystore) throws {
            try KeystoreFile(path: path).write(KeystoreCodec.encode(keystore))
        }

        /// A KeystoreFile that trusts an index as soon as it is written.
        var file: KeystoreFile {
            var f = KeystoreFile(path: path)
            f.indexSettleTime = 0
            return f
        }
    }

    static func keystore(seed: UInt64, count: Int) -> (Keystore, [APIKey]) {
        var rng = SplitMix(state: seed)
        var keys: [APIKey] = []
        var records: [KeyRecord] = []
        for i in 0..<count {
            let key = APIKey.generate(prefix: "ix", environment: i % 2 == 0 ? .live : .test, randomBytes: { rng.bytes($0) })
            keys.append(key)
            records.append(
                KeyRecord(
                    id: "key_\(i)", name: i % 3 == 0 ? "caf\u{E9} \\ \"\(i)\"" : "k\(i)", digest: key.digest, hint: key.hint,
                    environment: key.environment, permissions: .read, createdAt: 1_800_000_000 + Int64(i),
                    revokedAt: i < count / 2 ? 1_800_000_500 : nil))
        }
        return (Keystore(prefix: "ix", maxKeys: 1000, keys: records), keys)
    }

    func digest(_ key: APIKey) -> [UInt8] { Array(key.digest.utf8) }
    func stranger() -> [UInt8] { Array(APIKey.generate(prefix: "ix", environment: .live, randomBytes: systemRandomBytes).digest.utf8) }

    @Test func indexAnswersExactlyAsTheFullReadDoes() throws {
        let (keystore, keys) = Self.keystore(seed: 7, count: 300)
        let place = try Place(keystore)
        let file = place.file
        // First lookup reads everything and leaves the index.
        _ = try file.lookup(digest: nil)
        #expect(FileManager.default.fileExists(atPath: place.indexPath))
        for key in keys {
            let viaIndex = try file.lookup(digest: digest(key))
            let full = try file.load(onlyDigest: digest(key))
            #expect(viaIndex.keys == full.keys)
            #expect(viaIndex.keys.count == 1 && viaIndex.prefix == "ix" && viaIndex.maxKeys == 1000)
        }
        for _ in 0..<50 {
            let nobody = stranger()
            #expect(try file.lookup(digest: nobody).keys.isEmpty)
        }
    }

    @Test func aChangedKeystoreIsNeverAnsweredFromAnOldIndex() throws {
        let (keystore, keys) = Self.keystore(seed: 8, count: 20)
        let place = try Place(keystore)
        _ = try place.file.lookup(digest: nil)
        // Revoke a key the way keyctl does (new file, renamed over): the index now
        // describes an older version and must not be used.
        var changed = keystore
        changed.keys[19].revokedAt = 1_800_000_900
        try place.write(changed)
        let record = try place.file.lookup(digest: digest(keys[19])).keys.first
        #expect(record?.revokedAt == 1_800_000_900)
        // A new key added since the index was made is found.
        var grown = changed
        let fresh = APIKey.generate(prefix: "ix", environment: .live, randomBytes: systemRandomBytes)
        grown.keys.append(
            KeyRecord(
                id: "key_new", name: "new", digest: fresh.digest, hint: fresh.hint, environment: .live, permissions: .read, createdAt: 1_800_001_000))
        try place.write(grown)
        #expect(try place.file.lookup(digest: digest(fresh)).keys.first?.id == "key_new")
    }

    @Test func anEditInPlaceSendsVerifyBackToTheFullStrictRead() throws {
        let (keystore, keys) = Self.keystore(seed: 9, count: 20)
        let place = try Place(keystore)
        _ = try place.file.lookup(digest: nil)
        // Same size, same inode: change one byte of another record into nonsense.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: place.path))
        let text = try String(contentsOfFile: place.path, encoding: .utf8)
        let at = text.utf8.count - 40
        try handle.seek(toOffset: UInt64(at))
        try handle.write(contentsOf: Data("!".utf8))
        try handle.close()
        #expect(throws: KeyCtlError.self) { try place.file.lookup(digest: digest(keys[0])) }
        do {
            _ = try place.file.lookup(digest: digest(keys[0]))
        } catch let error as KeyCtlError {
            #expect(error.code == .keystoreCorrupt)
        }
    }

    /// Issue 8 item 6: an edit through a shared writable mapping changes the bytes but,
    /// once the page is dirty, not the mtime or ctime; the identity check cannot see
    /// it. The index must still not answer for a file the full read calls corrupt:
    /// the answer's record and the file's first line are re-read and fingerprinted.
    @Test(arguments: ["record", "first line"])
    func anEditThroughASharedMappingIsNotAnsweredFromTheIndex(part: String) throws {
        let (keystore, keys) = Self.keystore(seed: 14, count: 20)
        let place = try Place(keystore)
        let fd = open(place.path, O_RDWR)
        try #require(fd >= 0)
        defer { close(fd) }
        let size = Int(try identityOf(place.path).size)
        let map = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0))
        try #require(map != MAP_FAILED)
        defer { munmap(map, size) }
        let bytes = UnsafeMutableRawBufferPointer(start: map, count: size)
        // The first write to each page: the kernel notes it (a new mtime), once a page.
        for page in stride(from: 0, to: size, by: Int(sysconf(Int32(_SC_PAGESIZE)))) { bytes[page] = bytes[page] }
        let file = place.file
        _ = try file.lookup(digest: nil)  // the index of the file as it is now
        #expect(try file.lookup(digest: digest(keys[13])).keys.first?.name == "k13")
        let before = try identityOf(place.path)

        // The edit: a file every other command refuses, through the same dirty page.
        let text = Array(bytes)
        func replace(_ old: String, with new: String) throws {
            let at = try #require(text.firstRange(of: Array(old.utf8))?.lowerBound, "\(old) not found")
            for (i, b) in new.utf8.enumerated() { bytes[at + i] = b }
        }
        if part == "record" {
            try replace("\"name\":\"k13\"", with: "\"name\":\"k14\"")  // two keys in use named k14
        } else {
            let version = try #require(text.firstRange(of: Array("\"version\":".utf8))?.upperBound)
            bytes[version] = UInt8(ascii: "9")  // a version from the future
        }
        #expect(try identityOf(place.path) == before, "the edit changed the identity: the test no longer tests item 6")
        #expect(throws: KeyCtlError.self, "verify answered from the index for a corrupt keystore") {
            try file.lookup(digest: digest(keys[13]))
        }
        if part == "first line" {
            #expect(throws: KeyCtlError.self) { try file.lookup(digest: stranger()) }
        } else {
            // Documented limit: an answer that depends on no record (an unknown key) is
            // "not valid" from the index, not KEYSTORE_CORRUPT; never "valid".
            #expect(try file.lookup(digest: stranger()).keys.isEmpty)
        }
    }

    /// Every field of the identity is checked: an index made for a file that differs
    /// in any one of them (inode included) gives no answer (issue 9, "every reader is pinned").
    @Test func theIdentityCheckIsFieldByField() throws {
        let (keystore, keys) = Self.keystore(seed: 15, count: 4)
        let place = try Place(keystore)
        let identity = try identityOf(place.path)
        let contents = try #require(FileManager.default.contents(atPath: place.path))
        let entries = try [UInt8](contents).withUnsafeBufferPointer { try KeystoreCodec.decodeForIndex($0, onlyDigest: nil).1 }
        let index = try #require(
            [UInt8](contents).withUnsafeBufferPointer {
                KeystoreIndex.encode(identity: identity, prefix: "ix", maxKeys: 1000, entries: entries, contents: $0)
            })
        let wanted = Hex.decode(digest(keys[0]))!
        func answers(_ other: KeystoreIndex.Identity) -> Bool {
            index.withUnsafeBytes { KeystoreIndex.answer(in: $0, identity: other, digest: wanted) } != nil
        }
        #expect(answers(identity))
        let changes: [(String, (inout KeystoreIndex.Identity) -> Void)] = [
            ("device", { $0.device &+= 1 }), ("inode", { $0.inode &+= 1 }), ("size", { $0.size &+= 1 }),
            ("mtime seconds", { $0.mtime.0 &+= 1 }), ("mtime nanoseconds", { $0.mtime.1 &+= 1 }),
            ("ctime seconds", { $0.ctime.0 &+= 1 }), ("ctime nanoseconds", { $0.ctime.1 &+= 1 }),
        ]
        for (field, change) in changes {
            var other = identity
            change(&other)
            #expect(!answers(other), "an index for another \(field) was trusted")
        }
    }

    @Test func aRacyIndexIsNotTrusted() throws {
        let (keystore, _) = Self.keystore(seed: 10, count: 5)
        let place = try Place(keystore)
        var file = KeystoreFile(path: place.path)
        file.indexSettleTime = 3600  // the file changed "just now"
        _ = try file.lookup(digest: nil)
        #expect(!FileManager.default.fileExists(atPath: place.indexPath), "an index of an unsettled file was written")
        // And one that is there is ignored while the file has not settled.
        _ = try place.file.lookup(digest: nil)
        #expect(FileManager.default.fileExists(atPath: place.indexPath))
        let identity = try identityOf(place.path)
        #expect(!identity.isSettled(now: identity.ctimeSeconds + 1, settle: 2))
        #expect(identity.isSettled(now: identity.ctimeSeconds + 3, settle: 2))
    }

    @Test func aDamagedIndexIsIgnored() throws {
        let (keystore, keys) = Self.keystore(seed: 11, count: 64)
        let place = try Place(keystore)
        _ = try place.file.lookup(digest: nil)
        let good = try Data(contentsOf: URL(fileURLWithPath: place.indexPath))
        var rng = SplitMix(state: 3)
        for round in 0..<200 {
            var bad = [UInt8](good)
            switch round % 3 {
            case 0: bad[rng.below(bad.count)] ^= UInt8(1 + rng.below(255))
            case 1: bad.removeLast(1 + rng.below(60))
            default: bad[KeystoreIndex.headerSize + rng.below(bad.count - KeystoreIndex.headerSize)] ^= 0x01
            }
            try Data(bad).write(to: URL(fileURLWithPath: place.indexPath))
            let key = keys[rng.below(keys.count)]
            #expect(try place.file.lookup(digest: digest(key)).keys.first?.digest == key.digest)
        }
    }

    @Test func anIndexPointingAtTheWrongRecordIsNotBelieved() throws {
        let (keystore, keys) = Self.keystore(seed: 12, count: 10)
        let place = try Place(keystore)
        let file = place.file
        let identity = try identityOf(place.path)
        // Well-formed, right identity, every digest pointing at the first record.
        let bytes = KeystoreCodec.encode(keystore)
        // The first record: from the start of line 2 to the end of that line, less its comma.
        let firstLine = bytes.firstIndex(of: 0x0a)! + 1
        let firstLength = bytes[firstLine...].firstIndex(of: 0x0a)! - 1 - firstLine
        let first = try bytes[firstLine..<(firstLine + firstLength)].withUnsafeBufferPointer { try KeystoreCodec.decodeRecord($0) }
        #expect(first.id == "key_0", "the lie points at a whole, valid record")
        let lying = keys.map { KeystoreIndex.Entry(digest: Hex.decode(Array($0.digest.utf8))!, offset: firstLine, length: firstLength) }
        let index = try #require(
            bytes.withUnsafeBufferPointer { KeystoreIndex.encode(identity: identity, prefix: "ix", maxKeys: 1000, entries: lying, contents: $0) })
        try Data(index).write(to: URL(fileURLWithPath: place.indexPath))
        for key in keys {
            #expect(try file.lookup(digest: digest(key)).keys.first?.digest == key.digest)
        }
    }

    @Test func aForeignOrLinkedIndexIsIgnored() throws {
        let (keystore, keys) = Self.keystore(seed: 13, count: 6)
        let place = try Place(keystore)
        _ = try place.file.lookup(digest: nil)
        let keystoreFD = open(place.path, O_RDONLY)
        defer { close(keystoreFD) }
        // Group-writable: not trusted (anyone who could write it could hide a key).
        try FileManager.default.setAttributes([.posixPermissions: 0o662], ofItemAtPath: place.indexPath)
        let identity = try identityOf(place.path)
        #expect(KeystoreIndex.lookup(try indexFile(place), keystore: keystoreFD, identity: identity, digest: Hex.decode(digest(keys[0]))!) == nil)
        // A symlink to a good index: not followed.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: place.indexPath)
        let elsewhere = place.dir.appendingPathComponent("real.index").path
        try FileManager.default.moveItem(atPath: place.indexPath, toPath: elsewhere)
        try FileManager.default.createSymbolicLink(atPath: place.indexPath, withDestinationPath: elsewhere)
        #expect(KeystoreIndex.lookup(try indexFile(place), keystore: keystoreFD, identity: identity, digest: Hex.decode(digest(keys[0]))!) == nil)
        #expect(try place.file.lookup(digest: digest(keys[0])).keys.first?.digest == keys[0].digest)
    }

    /// The index beside the place's keystore, as keyctl opens it.
    func indexFile(_ place: Place) throws -> BesideFile {
        var st = stat()
        guard stat(place.path, &st) == 0 else { throw KeyCtlError(.ioError, "stat failed") }
        return place.file.beside(st).file(.index)
    }

    func identityOf(_ path: String) throws -> KeystoreIndex.Identity {
        var st = stat()
        guard stat(path, &st) == 0 else { throw KeyCtlError(.ioError, "stat failed") }
        return KeystoreIndex.Identity(st)
    }
}

extension KeystoreIndex.Identity {
    var ctimeSeconds: Double { Double(ctime.0) + Double(ctime.1) / 1e9 }
}

@Suite struct KeystoreIndexPartsTests {
    @Test func slicedCRCEqualsTheBytewiseOne() {
        var rng = SplitMix(state: 99)
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksumSliced($0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { CRC32.checksumSliced($0) } == 0)
        for length in 0..<200 {
            let bytes = rng.bytes(length)
            #expect(bytes.withUnsafeBytes { CRC32.checksumSliced($0) } == CRC32.checksum(bytes), "length \(length)")
        }
    }

    @Test func entriesSortInFullDigestOrderEvenWhenFirstWordsCollide() {
        var rng = SplitMix(state: 5)
        var entries: [KeystoreIndex.Entry] = []
        for i in 0..<500 {
            // Few distinct first words, so many entries share one.
            let first = UInt64(rng.below(7)) << 60
            entries.append(KeystoreIndex.Entry(digest: (first, rng.next(), rng.next(), UInt64(i)), offset: i, length: 1))
        }
        let sorted = KeystoreIndex.sortedByDigest(entries)
        #expect(sorted.count == entries.count)
        #expect(Set(sorted.map { $0.offset }).count == entries.count)
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            #expect(KeystoreIndex.Entry.precedes(a, b), "out of order")
        }
    }

    @Test func hexDigitsDecodeToTheDigestBytes() {
        let key = APIKey.generate(prefix: "ak", environment: .live, randomBytes: systemRandomBytes)
        let hex = Array(key.digest.utf8)
        let fromHex = hex.withUnsafeBufferPointer { KeystoreIndex.Entry(hex: $0, offset: 0, length: 0) }
        let fromBytes = KeystoreIndex.Entry(digest: Hex.decode(hex)!, offset: 0, length: 0)
        #expect(fromHex.digest == fromBytes.digest)
    }
}
