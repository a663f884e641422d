// A cache that lets `verify` find one record without reading years of history.
//
// After a full, strict read of the keystore, `verify` may leave `NAME.index` beside
// it: the keystore's identity (device, inode, size, mtime, ctime) at that moment,
// its prefix and key limit, and every record's digest → byte range, sorted.
// A later `verify` trusts the index only while the keystore's identity is exactly
// the same, so any change to the file (keyctl replaces it: a new inode; an edit in
// place: a new ctime and usually size) sends it back to the full read, which finds
// any fault. Like git's index, a snapshot taken within `settle` seconds of the
// file's last change is "racily clean" and not trusted, so a file system with
// coarse timestamps cannot hide a same-second edit.
//
// The index never decides that a key is valid: a hit is confirmed by reading the
// record at that offset with the strict reader and comparing digests. It can only
// say where to look, or that no record has the digest. Each entry carries its own
// CRC-32, so a damaged entry makes the index unusable rather than wrong.
//
// An edit through a shared writable mapping (mmap MAP_SHARED) changes the file's
// bytes without a new mtime or ctime once the page is dirty, so the identity alone
// cannot see it (issue 8 item 6). So the index also keeps a 64-bit fingerprint of
// every record's bytes and of the file's framing: the first line (version, prefix,
// key limit, the audit log's head) and everything after the last record. Before an
// answer is given from the index, the framing is read again and compared, and for a
// hit so is the one record the answer is about. What that guarantees: an answer from
// the index is the answer the full read would give about that record and those
// settings, as the file is now. What it does not: an edit through a mapping to
// *another* record (a byte of nonsense, say) is found only by the next full read,
// which happens when the file's identity next changes. The fingerprint is not a
// cryptographic hash; only someone who can write the keystore can make such an edit.
//
// Layout (little-endian): 128-byte header
//   0 magic "KCTLIX02" | 8 dev | 16 ino | 24 size | 32 mtime s | 40 mtime ns
//   48 ctime s | 56 ctime ns | 64 max_keys | 72 count | 80 prefix length (1) +
//   prefix (≤ 10) | 92 first line's length (4) | 96 its fingerprint (8) |
//   104 where the tail starts (8) | 112 the tail's fingerprint (8) | 120 zero (4) |
//   124 CRC-32 of bytes 0..<124
// then `count` 56-byte entries: digest (32) | offset (8) | fingerprint (8) |
// length (4) | CRC-32 of the 52 bytes before it (4).

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

enum KeystoreIndex {
    static let magic: [UInt8] = Array("KCTLIX02".utf8)
    /// What every version of the index starts with: a file keyctl may replace.
    static let family: [UInt8] = Array("KCTLIX".utf8)
    static let headerSize = 128
    static let entrySize = 56
    /// The framing is re-read on every lookup; a keystore whose first line or tail is
    /// longer than this gets no index.
    static let maximumFraming = 64 << 10

    /// A cheap 64-bit fingerprint of `bytes` (eight bytes a step, multiply and fold).
    static func fingerprint(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(bytes.count)
        func mix(_ w: UInt64) {
            h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        var i = 0
        while i + 8 <= bytes.count {
            mix(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            i += 8
        }
        var last: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            last |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        mix(last)
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// The parts of the keystore outside its records that an answer depends on.
    struct Framing: Equatable {
        var headLength: Int, head: UInt64
        var tailStart: Int, tail: UInt64

        /// Of a keystore's bytes, whose records end at `recordsEnd` (0: no records).
        init?(_ bytes: UnsafeRawBufferPointer, recordsEnd: Int) {
            headLength = (bytes.firstIndex(of: 0x0a) ?? (bytes.count - 1)) + 1
            tailStart = max(recordsEnd, headLength)
            guard headLength <= maximumFraming, tailStart <= bytes.count, bytes.count - tailStart <= maximumFraming else { return nil }
            head = fingerprint(UnsafeRawBufferPointer(rebasing: bytes[0..<headLength]))
            tail = fingerprint(UnsafeRawBufferPointer(rebasing: bytes[tailStart...]))
        }

        init(headLength: Int, head: UInt64, tailStart: Int, tail: UInt64) {
            (self.headLength, self.head, self.tailStart, self.tail) = (headLength, head, tailStart, tail)
        }

        /// Whether the keystore open at `fd` (of `size` bytes) still has this framing.
        func matches(_ fd: Int32, size: Int) -> Bool {
            guard headLength <= size, tailStart <= size, size - tailStart <= maximumFraming else { return false }
            func print(_ offset: Int, _ count: Int) -> UInt64? {
                var bytes = [UInt8](repeating: 0, count: count)
                let n = count == 0 ? 0 : bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, count, off_t(offset)) }
                guard n == count else { return nil }
                return bytes.withUnsafeBytes { fingerprint($0) }
            }
            return print(0, headLength) == head && print(tailStart, size - tailStart) == tail
        }
    }

    /// What identifies one version of the keystore file.
    struct Identity: Equatable {
        var device: UInt64, inode: UInt64, size: UInt64
        var mtime: (Int64, Int64), ctime: (Int64, Int64)

        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = UInt64(st.st_size)
            mtime = (Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec))
            ctime = (Int64(st.st_ctim.tv_sec), Int64(st.st_ctim.tv_nsec))
        }

        static func == (a: Identity, b: Identity) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size && a.mtime == b.mtime && a.ctime == b.ctime
        }

        /// Whether a snapshot taken at `now` (seconds, CLOCK_REALTIME) is older than the
        /// file's last change by at least `settle` seconds.
        func isSettled(now: Double, settle: Double) -> Bool {
            Double(ctime.0) + Double(ctime.1) / 1e9 + settle <= now
        }
    }

    /// One record: its digest as four big-endian words (so word order is byte
    /// order) and where it lies in the keystore. No heap storage of its own: a
    /// keystore of 100,000 records indexes in one array.
    struct Entry {
        var digest: (UInt64, UInt64, UInt64, UInt64)
        var offset: Int
        var length: Int

        init(digest bytes: [UInt8], offset: Int, length: Int) {
            precondition(bytes.count == 32)
            func word(_ i: Int) -> UInt64 { bytes[i * 8..<i * 8 + 8].reduce(0) { $0 << 8 | UInt64($1) } }
            self.init(digest: (word(0), word(1), word(2), word(3)), offset: offset, length: length)
        }

        init(digest: (UInt64, UInt64, UInt64, UInt64), offset: Int, length: Int) {
            self.digest = digest
            self.offset = offset
            self.length = length
        }

        /// From the 64 lowercase hex digits of a digest the reader has already checked.
        /// Branch-free per digit: '0'-'9' is c & 15, 'a'-'f' is (c & 15) + 9.
        init(hex: UnsafeBufferPointer<UInt8>, offset: Int, length: Int) {
            precondition(hex.count == 64)
            func word(_ from: Int) -> UInt64 {
                var w: UInt64 = 0
                for i in from..<from + 16 {
                    let c = UInt64(hex[i])
                    w = w << 4 | ((c & 15) + 9 * (c >> 6))
                }
                return w
            }
            self.init(digest: (word(0), word(16), word(32), word(48)), offset: offset, length: length)
        }

        static func precedes(_ a: Entry, _ b: Entry) -> Bool {
            if a.digest.0 != b.digest.0 { return a.digest.0 < b.digest.0 }
            if a.digest.1 != b.digest.1 { return a.digest.1 < b.digest.1 }
            if a.digest.2 != b.digest.2 { return a.digest.2 < b.digest.2 }
            return a.digest.3 < b.digest.3
        }
    }

    enum Answer: Equatable {
        /// No record has the digest.
        case absent(prefix: String, maxKeys: Int)
        /// The record with the digest is at this byte range, and had this fingerprint.
        case at(offset: Int, length: Int, fingerprint: UInt64, prefix: String, maxKeys: Int)
    }

    // MARK: Reading

    /// The index's answer for `digest` (32 bytes), or nil when there is no usable
    /// index for exactly this version of the keystore.
    /// An index that is not keyctl's to use (BesideFile.swift) is gone without, and so
    /// is one whose framing no longer matches the keystore open at `keystore`.
    static func lookup(_ file: BesideFile, keystore: Int32, identity: Identity, digest: [UInt8]) -> Answer? {
        guard let opened = try? file.openExisting() else { return nil }
        let fd = opened.fd
        defer { close(fd) }
        let size = Int(opened.status.st_size)
        guard size >= headerSize else { return nil }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else { return nil }
        defer { munmap(map, size) }
        let bytes = UnsafeRawBufferPointer(start: map, count: size)
        guard let answer = answer(in: bytes, identity: identity, digest: digest), let framing = framing(in: bytes),
            framing.matches(keystore, size: Int(identity.size))
        else { return nil }
        return answer
    }

    /// The framing an index recorded (its header already checked by `answer`).
    static func framing(in bytes: UnsafeRawBufferPointer) -> Framing? {
        guard bytes.count >= headerSize else { return nil }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        let headLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 92, as: UInt32.self)))
        let tailStart = Int(truncatingIfNeeded: u64(104))
        guard tailStart >= 0 else { return nil }
        return Framing(headLength: headLength, head: u64(96), tailStart: tailStart, tail: u64(112))
    }

    static func answer(in bytes: UnsafeRawBufferPointer, identity: Identity, digest: [UInt8]) -> Answer? {
        guard bytes.count >= headerSize, digest.count == 32, bytes.prefix(8).elementsEqual(magic) else { return nil }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        guard u32(124) == CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<124])) else { return nil }
        let stored = (
            device: u64(8), inode: u64(16), size: u64(24), mtime: (Int64(bitPattern: u64(32)), Int64(bitPattern: u64(40))),
            ctime: (Int64(bitPattern: u64(48)), Int64(bitPattern: u64(56)))
        )
        guard stored.device == identity.device,
            stored.inode == identity.inode,  // mutation-point: index-checks-inode
            stored.size == identity.size, stored.mtime == identity.mtime, stored.ctime == identity.ctime
        else { return nil }
        let maxKeys = Int(truncatingIfNeeded: u64(64))
        let count = Int(truncatingIfNeeded: u64(72))
        let prefixLength = Int(bytes[80])
        guard count >= 0, count <= (bytes.count - headerSize) / entrySize, bytes.count == headerSize + count * entrySize,
            prefixLength <= 10, Keystore.maxKeysRange.contains(maxKeys)
        else { return nil }
        let prefix = String(decoding: bytes[81..<(81 + prefixLength)], as: UTF8.self)
        guard Names.isValidPrefix(prefix) else { return nil }

        // Binary search over the sorted digests; every entry it reads must check out.
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            let at = headerSize + mid * entrySize
            let entry = UnsafeRawBufferPointer(rebasing: bytes[at..<(at + entrySize)])
            guard u32(at + 52) == CRC32.checksum(UnsafeRawBufferPointer(rebasing: entry[0..<52])) else { return nil }
            let order = digest.withUnsafeBytes { memcmp($0.baseAddress!, entry.baseAddress!, 32) }
            if order == 0 {
                let offset = Int(truncatingIfNeeded: u64(at + 32))
                let length = Int(u32(at + 48))
                guard offset >= 0, length > 0, UInt64(offset) + UInt64(length) <= identity.size else { return nil }
                return .at(offset: offset, length: length, fingerprint: u64(at + 40), prefix: prefix, maxKeys: maxKeys)
            }
            if order < 0 { high = mid } else { low = mid + 1 }
        }
        return .absent(prefix: prefix, maxKeys: maxKeys)
    }

    // MARK: Writing

    /// The index of the keystore `contents` with these entries; nil when its framing is
    /// too long to re-read cheaply.
    static func encode(identity: Identity, prefix: String, maxKeys: Int, entries: [Entry], contents: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let file = UnsafeRawBufferPointer(contents)
        guard let framing = Framing(file, recordsEnd: entries.reduce(0) { max($0, $1.offset + $1.length) }),
            entries.allSatisfy({ $0.offset >= 0 && $0.length >= 0 && $0.offset + $0.length <= file.count })
        else { return nil }
        let sorted = sortedByDigest(entries)
        let size = headerSize + sorted.count * entrySize
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            func put64(_ v: UInt64, _ at: Int) { raw.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt64.self) }
            func put32(_ v: UInt32, _ at: Int) { raw.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt32.self) }
            for (i, b) in magic.enumerated() { raw[i] = b }
            put64(identity.device, 8)
            put64(identity.inode, 16)
            put64(identity.size, 24)
            put64(UInt64(bitPattern: identity.mtime.0), 32)
            put64(UInt64(bitPattern: identity.mtime.1), 40)
            put64(UInt64(bitPattern: identity.ctime.0), 48)
            put64(UInt64(bitPattern: identity.ctime.1), 56)
            put64(UInt64(maxKeys), 64)
            put64(UInt64(sorted.count), 72)
            let prefixBytes = Array(prefix.utf8.prefix(10))
            raw[80] = UInt8(prefixBytes.count)
            for (i, b) in prefixBytes.enumerated() { raw[81 + i] = b }
            put32(UInt32(framing.headLength), 92)
            put64(framing.head, 96)
            put64(UInt64(framing.tailStart), 104)
            put64(framing.tail, 112)
            put32(CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<124])), 124)
            var at = headerSize
            for e in sorted {
                // Digest words are stored big-endian: byte order, as memcmp compares.
                put64(e.digest.0.bigEndian, at)
                put64(e.digest.1.bigEndian, at + 8)
                put64(e.digest.2.bigEndian, at + 16)
                put64(e.digest.3.bigEndian, at + 24)
                put64(UInt64(e.offset), at + 32)
                put64(fingerprint(UnsafeRawBufferPointer(rebasing: file[e.offset..<(e.offset + e.length)])), at + 40)
                put32(UInt32(e.length), at + 48)
                put32(CRC32.checksumSliced(UnsafeRawBufferPointer(rebasing: raw[at..<(at + 52)])), at + 52)
                at += entrySize
            }
            count = size
        }
    }

    /// Entries in digest order. Sorting packed 128-bit keys (first digest word, then
    /// position) is several times faster than sorting 48-byte entries with a closure;
    /// the rare runs that share a first word are then put in full digest order.
    static func sortedByDigest(_ entries: [Entry]) -> [Entry] {
        var keys = entries.indices.map { UInt128($0) | UInt128(entries[$0].digest.0) << 64 }
        keys.sort()
        var sorted = keys.map { entries[Int(truncatingIfNeeded: $0)] }
        var start = 0
        while start < sorted.count {
            var end = start + 1
            while end < sorted.count && sorted[end].digest.0 == sorted[start].digest.0 { end += 1 }
            if end - start > 1 { sorted[start..<end].sort(by: Entry.precedes) }
            start = end
        }
        return sorted
    }

    /// Whether the file at `file`'s path is one keyctl may replace: none, or a file
    /// that passes the beside-file checks and carries an index magic (of any version).
    /// A keystore that happens to be called `NAME.index` is never replaced.
    static func mayReplace(_ file: BesideFile) -> Bool {
        let there: BesideFile.Opened?
        do { there = try file.openExisting() } catch { return false }
        guard let opened = there else { return true }
        defer { close(opened.fd) }
        var head = [UInt8](repeating: 0, count: 6)
        let n = head.withUnsafeMutableBytes { pread(opened.fd, $0.baseAddress!, 6, 0) }
        return n == 6 && head == family
    }

    /// Writes the index beside the keystore: a cache, so no fsync, and any failure
    /// (read-only directory, full disk, not the keystore's owner, a file at that name
    /// that is not an index) just leaves no index.
    static func write(_ bytes: [UInt8], beside: BesideFiles) {
        let file = beside.file(.index)
        guard mayReplace(file), let (temporary, made) = try? beside.newTemporary() else { return }
        let ok = writeFully(made.fd, bytes)
        guard close(made.fd) == 0, ok, mayReplace(file), rename(temporary.path, file.path) == 0 else {
            unlink(temporary.path)
            return
        }
    }
}
