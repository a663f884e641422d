// Last-used times, kept beside the keystore in `PATH.usage` so that `verify` never
// rewrites the keystore (keyctl(1) KEYSTORE; keyctl-keystore(5)).
//
// The file is a sequence of fixed-size records, appended with O_APPEND and never
// fsynced: a stamp costs one 32-byte write(2), whatever the keystore's size.
//
//   bytes  0..<4   magic "kcu1"
//   bytes  4..<20  the first 16 bytes of the key's SHA-256 digest
//   bytes 20..<28  the time, seconds since 1970, little-endian Int64
//   bytes 28..<32  CRC-32 of bytes 0..<28, little-endian
//
// Invariants:
// - Best effort, both ways. A missing, damaged, foreign or unwritable usage file
//   never fails a command: damaged records are skipped (the reader resynchronises on
//   the magic), and last-used times fall back to the keystore's `last_used_at`.
//   A keystore shared read-only with a service user (group-readable, that user
//   cannot write its directory) records no usage for that user's verifies.
// - Shown merged: the last-used time of a key is the newer of the keystore
//   record's `last_used_at` (1.0 files have it) and the newest stamp for its digest.
// - Bounded: when an append carries the file across a power of two (64 KiB or
//   more), the appender compacts it to the newest stamp per key, under the
//   keystore's lock (one try, no wait). No stamp is lost to a compaction: the
//   compactor copies whatever was appended to the old file after its rename, and an
//   appender whose file was replaced under it appends again to the new one.
// - Stamps go with their keys: a write that leaves fewer records than it found
//   (`prune`) compacts the file to the keys still in the keystore, under the lock
//   it holds (KeystoreFile.update). A stamp a verify appends for a pruned key after
//   that (it read the keystore before the prune) stays until the next prune; it can
//   never match a key again.
// - Opened only through BesideFile.swift, like every file beside the keystore: not
//   followed through a symlink, made only by the keystore's owner (0600, or 0640 for a
//   keystore shared with a group), and gone without when it is not a regular file of
//   the keystore's owner or others can write it.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

public struct UsageFile {
    public static let recordSize = 32
    static let magic: [UInt8] = Array("kcu1".utf8)
    /// Compaction starts once the file reaches this size.
    static let compactionFloor = 64 << 10

    /// The first 16 bytes of a SHA-256 digest: enough to tell keys apart.
    public struct Prefix: Hashable, Sendable {
        var high: UInt64
        var low: UInt64

        /// From 64 (or at least 32) lowercase hex digits.
        init?<Bytes: Collection>(hex: Bytes) where Bytes.Element == UInt8 {
            var high: UInt64 = 0
            var low: UInt64 = 0
            var i = 0
            for c in hex.prefix(32) {
                let v: UInt8
                switch c {
                case 0x30...0x39: v = c - 0x30
                case 0x61...0x66: v = c - 0x61 + 10
                default: return nil
                }
                if i < 16 { high = high << 4 | UInt64(v) } else { low = low << 4 | UInt64(v) }
                i += 1
            }
            guard i == 32 else { return nil }
            self.high = high
            self.low = low
        }

        init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }
    }

    /// The files beside the keystore: the usage file, its lock (taken to compact) and temporaries.
    let files: BesideFiles
    var file: BesideFile { files.file(.usage) }
    public var path: String { file.path }

    public init(_ files: BesideFiles) {
        self.files = files
    }

    // MARK: Encoding

    static func encode(_ prefix: Prefix, at time: Timestamp) -> [UInt8] {
        var out = magic
        out.reserveCapacity(recordSize)
        withUnsafeBytes(of: prefix.high.bigEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: prefix.low.bigEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: time.littleEndian) { out.append(contentsOf: $0) }
        let crc = CRC32.checksum(out)
        withUnsafeBytes(of: crc.littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// The newest time per key in `bytes`, skipping anything that is not a whole,
    /// intact record.
    static func decode(_ bytes: UnsafeRawBufferPointer, into times: inout [Prefix: Timestamp]) {
        var p = 0
        while p + recordSize <= bytes.count {
            guard let (prefix, time) = record(bytes, at: p) else {
                p += 1  // torn or damaged: find the next record by its magic
                continue
            }
            if let known = times[prefix], known >= time {
            } else {
                times[prefix] = time
            }
            p += recordSize
        }
    }

    @inline(__always) static func record(_ bytes: UnsafeRawBufferPointer, at p: Int) -> (Prefix, Timestamp)? {
        guard bytes[p] == magic[0], bytes[p + 1] == magic[1], bytes[p + 2] == magic[2], bytes[p + 3] == magic[3] else { return nil }
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: p + 28, as: UInt32.self))
        guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[p..<(p + 28)])) == crc else { return nil }
        let prefix = Prefix(
            high: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: p + 4, as: UInt64.self)),
            low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: p + 12, as: UInt64.self)))
        return (prefix, Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: p + 20, as: Int64.self)))
    }

    // MARK: Reading

    /// Opens the usage file if it is one keyctl may trust: for reading, or (making it
    /// if need be) for appending. nil otherwise: the usage file is gone without.
    func openTrusted(append: Bool = false) -> Int32? {
        guard append else { return (try? file.openExisting())??.fd }
        guard let fd = (try? file.openOrCreate())?.fd else { return nil }
        guard fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// The newest stamp of every key; empty when there is no usable file.
    public func times() -> [Prefix: Timestamp] {
        var out: [Prefix: Timestamp] = [:]
        guard let fd = openTrusted() else { return out }
        defer { close(fd) }
        guard let bytes = Self.readAll(fd, from: 0) else { return out }
        bytes.withUnsafeBytes { Self.decode($0, into: &out) }
        return out
    }

    /// The newest stamp of one key among the last `window` bytes of the file: the
    /// cheap look `verify` takes before stamping. nil when there is none there.
    public func recentTime(of prefix: Prefix, window: Int = 64 << 10) -> Timestamp? {
        guard let fd = openTrusted() else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let size = Int(st.st_size)
        let start = max(0, size - window)
        guard let bytes = Self.readAll(fd, from: start, expected: size - start) else { return nil }
        var newest: Timestamp?
        bytes.withUnsafeBytes { raw in
            var p = 0
            while p + Self.recordSize <= raw.count {
                guard let (p2, time) = Self.record(raw, at: p) else {
                    p += 1
                    continue
                }
                if p2 == prefix, newest.map({ time > $0 }) ?? true { newest = time }
                p += Self.recordSize
            }
        }
        return newest
    }

    /// Everything from `offset` to the end. `expected`, the bytes the caller saw there,
    /// sizes the buffer: verify reads a usage file of a few stamps, and zeroing 64 KiB
    /// for it cost sixteen page faults on every run.
    static func readAll(_ fd: Int32, from offset: Int, expected: Int = 64 << 10) -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(64 << 10, max(expected, 0) + 1))
        var at = offset
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(at)) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            at += n
        }
    }

    // MARK: Stamping

    /// Appends one stamp, best effort: false when the file cannot be written
    /// (a read-only directory, a foreign or unsafe file). Never waits, never fsyncs.
    @discardableResult
    public func stamp(_ prefix: Prefix, at time: Timestamp, compact: Bool = true) -> Bool {
        let record = Self.encode(prefix, at: time)
        var sizeAfter = 0
        // Again if a compaction replaced the file under us (its old inode is unlinked).
        for _ in 0..<3 {
            guard let fd = openTrusted(append: true) else { return false }
            let n = record.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
            var st = stat()
            let replaced = fstat(fd, &st) == 0 && st.st_nlink == 0
            sizeAfter = Int(st.st_size)
            close(fd)
            guard n == Self.recordSize else { return false }
            if !replaced { break }
        }
        if compact && Self.crossesThreshold(before: sizeAfter - Self.recordSize, after: sizeAfter) {
            self.compact(lockTimeout: 0)
        }
        return true
    }

    /// True when growing from `before` to `after` bytes reaches 64 KiB or a larger power of two.
    static func crossesThreshold(before: Int, after: Int) -> Bool {
        guard after >= compactionFloor, before >= 0 else { return false }
        var mark = compactionFloor
        while mark <= before { mark <<= 1 }
        return after >= mark
    }

    // MARK: Compaction

    /// Rewrites the file with the newest stamp per key (or only the keys `keep`
    /// allows), under the keystore's lock; nothing when the lock is busy.
    @discardableResult
    public func compact(lockTimeout: Double = 0, keep: ((Prefix) -> Bool)? = nil) -> Bool {
        guard let lock = (try? files.file(.lock).openExisting())??.fd else { return false }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return false }
        return compactLocked(keep: keep)
    }

    /// Drops the stamps of keys no longer in `keystore` (records `prune` removed), by
    /// a compaction. The caller holds the keystore's lock and has just committed
    /// `keystore`; best effort, like every use of the usage file.
    func forget(allBut keystore: Keystore) {
        var present = Set<Prefix>(minimumCapacity: keystore.keys.count)
        keystore.keys.forEachDigest { digest in
            if let prefix = Prefix(hex: digest) { present.insert(prefix) }
        }
        compactLocked(keep: { present.contains($0) })
    }

    /// The compaction itself; the caller holds the keystore's lock.
    @discardableResult
    func compactLocked(keep: ((Prefix) -> Bool)? = nil) -> Bool {
        guard let old = openTrusted() else { return false }
        defer { close(old) }
        guard let bytes = Self.readAll(old, from: 0) else { return false }
        var times: [Prefix: Timestamp] = [:]
        bytes.withUnsafeBytes { Self.decode($0, into: &times) }
        var out: [UInt8] = []
        out.reserveCapacity(times.count * Self.recordSize)
        for (prefix, time) in times where keep?(prefix) ?? true {
            out += Self.encode(prefix, at: time)
        }
        // Appending: once renamed, verifies append to it too, and the late copy must not overwrite them.
        guard let (temporary, made) = try? files.newTemporary() else { return false }
        let fd = made.fd
        guard fcntl(fd, F_SETFL, O_APPEND) == 0 else {
            close(fd)
            unlink(temporary.path)
            return false
        }
        let written = out.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == out.count, rename(temporary.path, path) == 0 else {
            close(fd)
            unlink(temporary.path)
            return false
        }
        // Stamps appended to the old file since we read it: carry them over. Later
        // appenders see the old file unlinked and append to the new one themselves.
        if let late = Self.readAll(old, from: bytes.count), !late.isEmpty {
            _ = late.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
        }
        close(fd)
        return true
    }
}

/// The usage file's stamps, read the first time they are asked for and kept for the
/// rest of one command (Invocation.usage): a writer prints its records while it holds
/// the keystore's lock, so they are the stamps as of its change.
final class UsageTimes {
    private var loaded: [UsageFile.Prefix: Timestamp]?

    /// The stamps of `file()`'s usage file; empty when there is none.
    func times(_ file: () -> UsageFile?) -> [UsageFile.Prefix: Timestamp] {
        if let loaded { return loaded }
        let times = file()?.times() ?? [:]
        loaded = times
        return times
    }
}

extension KeyRecord {
    /// The newer of the record's own last_used_at and its stamps in `usage`.
    func lastUsed(merging usage: [UsageFile.Prefix: Timestamp]) -> Timestamp? {
        guard !usage.isEmpty, let prefix = UsageFile.Prefix(hex: digest.utf8), let stamped = usage[prefix] else { return lastUsedAt }
        guard let own = lastUsedAt else { return stamped }
        return max(own, stamped)
    }
}
