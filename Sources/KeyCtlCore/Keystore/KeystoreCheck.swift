// The full strict check of a keystore's records, fast, and the one check across records:
// what `verify` runs on a keystore that changed since its index was made (the whole
// mapped file, in chunks on the processors), what `list --json` runs before it streams
// (the file a pread window at a time, ListStream.swift), and what a writer can run on
// the old file. It builds no KeyRecord except the ones asked for.
//
// One walk, two window sources (KeystoreWindow):
// - WholeFile: the mapping, one window that never moves; the records are split into
//   chunks checked on threads of their own.
// - ListStream.Window: 4 MiB read with pread, moved forward a record at a time; one chunk.
//
// How it stays the strict reader's verdict:
// - Each record is checked by CanonicalScanner.check, which takes only records in
//   keyctl's exact layout (a subset of what the general reader takes, with the same
//   meaning); any other record goes through the general reader (Decoder.record).
// - Records are checked in chunks that start at a `,\n{` found near equal fractions of
//   the file. A chunk is used only if the chunk before it ended exactly where it
//   starts, after a `,\n` the check itself read: each record is then the one a reader
//   going from the first record would find there.
// - Ids and digests are unique, and a name belongs to at most one key in use, as
//   across the whole array, after the chunks (KeystoreCheck.merge): hashes in
//   cache-sized hash sets. Two equal hashes of ids or digests are compared byte for
//   byte when the whole file is in memory (WholeFile: a 34-bit hash and the offset);
//   when it is not (pread windows: a 64-bit hash, nothing to compare), and for names
//   (a hash of the text as the reader compares it, Unicode-normalised), an equal hash
//   is a doubt.
// - Anything else — a record neither reader takes, a separator other than `,\n`, a
//   duplicate or a doubt, an array not laid out one record a line — and the caller
//   reads the whole file again with the serial reader (verify: Decoder.records; list:
//   ListStream.printMapped), whose fault (the first by offset, with its message) is
//   the one reported. So an answer or an error from here is always the serial
//   reader's; only its cost differs (KeystoreCheckTests hold both sources to it).

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

extension KeystoreCodec.Decoder {
    /// The records of the `keys` array (the reader is before its `[`) whose digest is
    /// `onlyDigest`, every record checked; nil, with nothing moved or collected, when the
    /// serial reader must take the array (a fault, or a layout this does not take).
    mutating func checkedRecords(chunks wanted: Int? = nil) -> [KeyRecord]? {
        let start = reader.position
        guard reader.peek() == UInt8(ascii: "["), let base = reader.bytes.baseAddress else { return nil }
        let first = reader.position + 1
        let end = reader.bytes.count
        guard first + 1 < end, base[first] == 0x0a, base[first + 1] == 0x7b else {
            reader.seek(to: start)
            return nil
        }
        let layout = CanonicalLayout.steps(version: layoutVersion)
        let splits = KeystoreCheck.splits(base, from: first + 1, end: end, chunks: wanted ?? KeystoreCheck.chunks(for: end - first))
        var results = [KeystoreCheck.Chunk](repeating: KeystoreCheck.Chunk(), count: splits.count)
        let collect = KeystoreCheck.Collect(target: onlyDigest.flatMap(KeystoreCheck.DigestWords.init), entries: entries != nil, spans: spans != nil)
        let file = KeystoreCheck.WholeFile(bytes: base, count: end)
        let decoder = self
        layout.withUnsafeBufferPointer { layout in
            results.withUnsafeMutableBufferPointer { results in
                KeystoreCheck.concurrently(splits.count) { i in
                    let limit = i + 1 < splits.count ? splits[i + 1] : end
                    var window = file
                    results[i] = KeystoreCheck.walk(&window, decoder, layout, from: splits[i], limit: limit, last: i + 1 == splits.count, collect)
                }
            }
        }
        guard let merged = KeystoreCheck.merge(results, splits: splits, file) else {
            reader.seek(to: start)
            return nil
        }
        // The records asked for, read again by the serial reader's own record().
        let taken = fastPathRecords + merged.checked
        var out: [KeyRecord] = []
        for at in merged.matches {
            reader.seek(to: at)
            guard (try? record()) != nil else {
                reader.seek(to: start)
                return nil
            }
            out.append(build())
        }
        reader.seek(to: merged.end)
        guard reader.peek() == UInt8(ascii: "]") else {
            reader.seek(to: start)
            return nil
        }
        reader.seek(to: reader.position + 1)
        fastPathRecords = taken
        if entries != nil { entries = merged.entries }
        if spans != nil { spans = merged.spans }
        return out
    }
}

/// Where the walk reads a keystore: a window of the file's bytes that `ensure` moves.
protocol KeystoreWindow {
    associatedtype Failure: Error
    /// The window's bytes: `bytes[0]` is the file's byte `start`.
    var bytes: UnsafePointer<UInt8> { get }
    var start: Int { get }
    var count: Int { get }
    /// Whether the whole file stays in memory, so two equal hashes can be compared
    /// byte for byte; otherwise an equal hash is a doubt.
    static var holdsWholeFile: Bool { get }
    /// Makes at least `need` bytes from `from` available (fewer at the file's end);
    /// `bytes` may move.
    mutating func ensure(_ from: Int, _ need: Int) throws(Failure)
}

enum KeystoreCheck {
    /// A records region this size or more is split across the processors (up to four).
    static let parallelBytes = 256 << 10
    /// More than any record the fast scanner takes (its text fields are bounded): a
    /// window holds this much from a record's start.
    static let longestRecord = 16 << 10

    /// The whole file, mapped: one window that never moves.
    struct WholeFile: KeystoreWindow {
        let bytes: UnsafePointer<UInt8>
        let count: Int
        var start: Int { 0 }
        static var holdsWholeFile: Bool { true }
        @inline(__always) func ensure(_ from: Int, _ need: Int) throws(Never) {}
    }

    static func chunks(for bytes: Int) -> Int {
        guard bytes >= parallelBytes else { return 1 }
        return max(1, min(4, sysconf(Int32(_SC_NPROCESSORS_ONLN)), bytes / parallelBytes))
    }

    /// Where each chunk starts: `first`, then the `{` of the first `,\n{` at or after
    /// each further fraction of the file (fewer chunks when there is none).
    static func splits(_ base: UnsafePointer<UInt8>, from first: Int, end: Int, chunks: Int) -> [Int] {
        var out = [first]
        guard chunks > 1 else { return out }
        for i in 1..<chunks {
            var p = max(first + (end - first) / chunks * i, out.last! + 1)
            while p < end, let nl = memchr(base + p, 0x0a, end - p) {
                let at = UnsafePointer<UInt8>(nl.assumingMemoryBound(to: UInt8.self)) - base
                if at > first, at + 1 < end, base[at - 1] == 0x2c, base[at + 1] == 0x7b {
                    out.append(at + 1)
                    break
                }
                p = at + 1
            }
        }
        return out
    }

    /// The 64 hex digits of the digest looked for, as words.
    struct DigestWords {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

        init?(_ hex: [UInt8]) {
            guard hex.count == 64 else { return nil }
            func w(_ i: Int) -> UInt64 { hex[i * 8..<i * 8 + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
            words = (w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7))
        }

        /// Whether the 64 bytes at `p` are these, looking at every byte (no early exit).
        @inline(__always) func matches(_ p: UnsafePointer<UInt8>) -> Bool {
            let raw = UnsafeRawPointer(p)
            func d(_ i: Int, _ w: UInt64) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) ^ w }
            let x = d(0, words.0) | d(1, words.1) | d(2, words.2) | d(3, words.3)
            let y = d(4, words.4) | d(5, words.5) | d(6, words.6) | d(7, words.7)
            return x | y == 0
        }
    }

    /// What the walk collects besides the checks across records.
    struct Collect {
        /// Records whose digest is this (verify).
        var target: DigestWords?
        /// Digest, offset and length of each record (the index).
        var entries = false
        /// Offset, length and created_at of each record (a write, the mapped list).
        var spans = false
        /// Each record's offset, marked when the general reader took it, a hash of its
        /// bytes, and whether created_at never decreases in file order (the windowed list).
        var offsets = false
    }

    /// What one chunk found.
    struct Chunk {
        var ok = false
        /// After the last record's `}` (a file offset).
        var end = 0
        /// The array ended after it (`\n]`), rather than a `,\n` at the chunk's limit.
        var closed = false
        /// Records the canonical check took (the rest went through the general reader).
        var checked = 0
        /// Per record, a key of its id (KeystoreCheck.key).
        var ids: [UInt64] = []
        /// The same for its digest.
        var digests: [UInt64] = []
        /// The names of keys in use: a hash of each as the reader compares names.
        var names: [UInt64] = []
        /// Records whose digest is the one looked for.
        var matches: [Int] = []
        var entries: [KeystoreIndex.Entry] = []
        var spans: [RecordSpan] = []
        /// Where each record starts; the top bit marks one the general reader took.
        var offsets: [UInt32] = []
        /// With the offsets, a hash of each record's bytes (ByteHash.wide).
        var hashes: [UInt64] = []
        /// created_at never decreased from one record to the next.
        var ordered = true

        static let generalMark: UInt32 = 1 << 31
    }

    /// Checks the records from `from` (a record's `{`) to `limit` (file offsets): the
    /// chunk must end at `limit` after a `,\n`, or, when `last`, with the array's `\n]`.
    /// `decoder` is the reader (its format version) a record not in keyctl's layout
    /// goes through. Not `ok` when anything is out of place; throws only what the
    /// window's reads throw.
    static func walk<W: KeystoreWindow>(
        _ window: inout W, _ decoder: KeystoreCodec.Decoder, _ layout: UnsafeBufferPointer<CanonicalLayout.Step>, from: Int, limit: Int,
        last: Bool, _ collect: Collect
    ) throws(W.Failure) -> Chunk {
        var out = Chunk()
        let expected = (limit - from) / 300 + 16
        out.ids.reserveCapacity(expected)
        out.digests.reserveCapacity(expected)
        if collect.entries { out.entries.reserveCapacity(expected) }
        if collect.spans { out.spans.reserveCapacity(expected) }
        if collect.offsets {
            out.offsets.reserveCapacity(expected)
            out.hashes.reserveCapacity(expected)
        }
        let needsTime = collect.spans || collect.offsets
        var latest = Int64.min
        var general: KeystoreCodec.Decoder?
        var fields = CheckedRecord()
        var pos = from
        while true {
            guard pos < limit else { return out }
            try window.ensure(pos, longestRecord)
            let base = window.bytes
            let at = window.start
            var scanner = CanonicalScanner(base: base, end: window.count, p: pos - at)
            var createdAt: Timestamp?
            var name: UInt64?
            let canonical = scanner.check(layout, into: &fields)
            if canonical {
                out.checked += 1
                if fields.inUse { name = nameHash(UnsafeBufferPointer(start: base + fields.name.lowerBound, count: fields.name.count)) }
            } else {
                // Not keyctl's layout: the general reader takes the record, or the serial reader will report it.
                if general == nil { general = decoder }
                general!.reader = JSONReader(UnsafeBufferPointer(start: base, count: window.count))
                general!.reader.seek(to: pos - at)
                guard (try? general!.record()) != nil else { return out }
                let raw = general!.raw
                fields.id = raw.id.range
                fields.digest = raw.digest.range.lowerBound
                fields.inUse = raw.isInUse
                if case .time(let t) = raw.values[RecordSpan.createdAtSlot] { createdAt = t }
                if fields.inUse { name = general!.reader.unescaped(raw.name).withUnsafeBufferPointer(nameHash) }
                scanner.p = general!.reader.position
            }
            let recordEnd = at + scanner.p
            out.ids.append(key(W.self, base + fields.id.lowerBound, fields.id.count, at: at + fields.id.lowerBound))
            out.digests.append(key(W.self, base + fields.digest, 64, at: at + fields.digest))
            if let name { out.names.append(name) }
            if let target = collect.target, target.matches(base + fields.digest) { out.matches.append(pos) }
            if collect.entries {
                out.entries.append(
                    KeystoreIndex.Entry(hex: UnsafeBufferPointer(start: base + fields.digest, count: 64), offset: pos, length: recordEnd - pos))
            }
            if needsTime {
                guard let created = createdAt ?? RFC3339.parseCanonical(base + fields.createdAt) else { return out }
                if collect.spans { out.spans.append(RecordSpan(offset: UInt32(pos), length: UInt32(recordEnd - pos), createdAt: created)) }
                if collect.offsets {
                    out.offsets.append(UInt32(pos) | (canonical ? 0 : Chunk.generalMark))
                    out.hashes.append(ByteHash.wide(base + (pos - at), recordEnd - pos))
                    if created < latest { out.ordered = false }
                    latest = max(latest, created)
                }
            }
            // One record a line: `,\n` before the next, `\n]` after the last.
            try window.ensure(recordEnd, 2)
            guard recordEnd + 2 <= window.start + window.count else { return out }
            let after = window.bytes + (recordEnd - window.start)
            if after[0] == 0x2c && after[1] == 0x0a {
                pos = recordEnd + 2
                if pos == limit && !last {
                    out.end = recordEnd
                    out.ok = true
                    return out
                }
            } else if after[0] == 0x0a && after[1] == 0x5d && last {
                out.end = recordEnd
                out.closed = true
                out.ok = true
                return out
            } else {
                return out
            }
        }
    }

    /// An id's or a digest's key for the duplicate search: with the whole file in
    /// memory, a content hash (high 34 bits) and the offset (low 30: a keystore is at
    /// most 1 GiB), so equal hashes are compared byte for byte; else the 64-bit hash.
    @inline(__always) static func key<W: KeystoreWindow>(_: W.Type, _ p: UnsafePointer<UInt8>, _ count: Int, at offset: Int) -> UInt64 {
        let h = ByteHash.of(p, count)
        return W.holdsWholeFile ? (h >> 30) << 30 | UInt64(offset) : h
    }

    /// A name as the reader compares names (Unicode canonical equivalence: the NFC and
    /// NFD spellings of one name hash alike), hashed.
    static func nameHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        UInt64(bitPattern: Int64(String(decoding: bytes, as: UTF8.self).hashValue))
    }

    /// The chunks together, or nil when they do not make one array or a check across
    /// records fails.
    struct Merged {
        var end = 0
        var checked = 0
        var matches: [Int] = []
        var entries: [KeystoreIndex.Entry] = []
        var spans: [RecordSpan] = []
    }

    static func merge<W: KeystoreWindow>(_ chunks: [Chunk], splits: [Int], _ window: W) -> Merged? {
        var merged = Merged()
        for (i, chunk) in chunks.enumerated() {
            guard chunk.ok else { return nil }
            // Chunk i ended with `,\n` right where chunk i + 1 starts (checked in `walk`), or closed the array.
            if i + 1 < chunks.count {
                guard !chunk.closed, chunk.end + 2 == splits[i + 1] else { return nil }
            } else {
                guard chunk.closed else { return nil }
            }
            merged.checked += chunk.checked
            merged.matches += chunk.matches
            merged.entries += chunk.entries
            merged.spans += chunk.spans
        }
        merged.end = chunks.last!.end
        // One chunk (a window source): its arrays as they are, not copies.
        let ids = chunks.count == 1 ? chunks[0].ids : chunks.flatMap(\.ids)
        let digests = chunks.count == 1 ? chunks[0].digests : chunks.flatMap(\.digests)
        let names = chunks.count == 1 ? chunks[0].names : chunks.flatMap(\.names)
        guard !hasDuplicate(names, offsetBits: 0, same: nil) else { return nil }
        var idsUnique = true, digestsUnique = true
        let base = window.bytes
        let offsetBits = W.holdsWholeFile ? 30 : 0
        concurrently(ids.count >= 50_000 ? 2 : 1) { _ in
            idsUnique = !hasDuplicate(
                ids, offsetBits: offsetBits,
                same: W.holdsWholeFile
                    ? { a, b in
                        // Ids end at their quote (the readers checked that), so they are compared through it.
                        var i = 0
                        while base[a + i] == base[b + i] {
                            if base[a + i] == 0x22 { return true }
                            i += 1
                        }
                        return false
                    } : nil)
        } other: {
            digestsUnique = !hasDuplicate(
                digests, offsetBits: offsetBits, same: W.holdsWholeFile ? { a, b in memcmp(base + a, base + b, 64) == 0 } : nil)
        }
        guard idsUnique && digestsUnique else { return nil }
        return merged
    }

    /// Whether two of `keys` have equal hashes (their bits above `offsetBits`) and are
    /// the same according to `same`, given the two offsets (the low `offsetBits`); with
    /// no `same`, an equal hash is enough. The keys are first split by their top bits
    /// into parts small enough that a part's hash set stays in the cache; then each
    /// part goes through an open-addressing set of its own.
    static func hasDuplicate(_ keys: [UInt64], offsetBits: Int, same: ((Int, Int) -> Bool)?) -> Bool {
        let n = keys.count
        guard n > 1 else { return false }
        var partBits = 0
        while partBits < 12 && n >> partBits > 4096 { partBits += 1 }
        let parts = 1 << partBits
        let top = UInt64(64 - partBits)
        var bounds = [Int](repeating: 0, count: parts + 1)
        if partBits > 0 { for k in keys { bounds[Int(k >> top) + 1] += 1 } } else { bounds[1] = n }
        for i in 0..<parts { bounds[i + 1] += bounds[i] }
        let scattered: [UInt64]
        if partBits > 0 {
            var cursor = bounds
            scattered = [UInt64](unsafeUninitializedCapacity: n) { out, count in
                for k in keys {
                    let p = Int(k >> top)
                    (out.baseAddress! + cursor[p]).initialize(to: k)
                    cursor[p] += 1
                }
                count = n
            }
        } else {
            scattered = keys
        }
        let shift = UInt64(offsetBits)
        let hashBits: UInt64 = ~0 << shift
        var largest = 0
        for i in 0..<parts { largest = max(largest, bounds[i + 1] - bounds[i]) }
        var size = 16
        while size < 2 * largest { size <<= 1 }
        var table = [UInt64](repeating: 0, count: size)
        return scattered.withUnsafeBufferPointer { keys in
            table.withUnsafeMutableBufferPointer { table in
                for part in 0..<parts {
                    let lo = bounds[part], hi = bounds[part + 1]
                    guard hi - lo > 1 else { continue }
                    var mask = 15
                    while mask + 1 < 2 * (hi - lo) { mask = mask << 1 | 1 }
                    for i in 0...mask { table[i] = 0 }
                    for key in keys[lo..<hi] {
                        // 0 is an empty slot: an offset is never 0 (a keystore starts with '{'); a
                        // bare hash of 0 is taken as 1 (at worst a doubt).
                        let k = key == 0 ? 1 : key
                        var i = Int(truncatingIfNeeded: k >> shift) & mask
                        while table[i] != 0 {
                            if table[i] & hashBits == k & hashBits {
                                guard let same else { return true }
                                if same(Int(table[i] & ~hashBits), Int(k & ~hashBits)) { return true }
                            }
                            i = (i + 1) & mask
                        }
                        table[i] = k
                    }
                }
                return false
            }
        }
    }

    // MARK: Threads

    /// Runs `body(0)` … `body(count - 1)`, `body(0)` on this thread and each other on a
    /// thread of its own, and returns when all are done. A thread that cannot be made
    /// leaves its part to this thread.
    static func concurrently(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let job = Job(body)
            var threads: [(pthread_t, Int)] = []
            var leftOver: [Int] = []
            for i in 1..<count {
                var thread = pthread_t()
                let context = Unmanaged.passRetained(Part(job, i)).toOpaque()
                if pthread_create(
                    &thread, nil,
                    { context in
                        let part = Unmanaged<Part>.fromOpaque(context!).takeRetainedValue()
                        part.job.body(part.index)
                        return nil
                    }, context) == 0
                {
                    threads.append((thread, i))
                } else {
                    Unmanaged<Part>.fromOpaque(context).release()
                    leftOver.append(i)
                }
            }
            body(0)
            for i in leftOver { body(i) }
            for (thread, _) in threads { pthread_join(thread, nil) }
        }
    }

    /// Two different bodies at once: `body(0)` here, `other` on a thread when `count` is 2.
    static func concurrently(_ count: Int, _ body: (Int) -> Void, other: () -> Void) {
        concurrently(count) { i in
            if i == 0 {
                body(0)
                if count == 1 { other() }
            } else {
                other()
            }
        }
    }

    private final class Job: @unchecked Sendable {
        let body: (Int) -> Void
        init(_ body: @escaping (Int) -> Void) { self.body = body }
    }

    private final class Part: @unchecked Sendable {
        let job: Job
        let index: Int
        init(_ job: Job, _ index: Int) { (self.job, self.index) = (job, index) }
    }
}

/// A 64-bit hash of a byte string. Inputs of one length that differ in one 8-byte
/// word never collide (each step is a bijection); otherwise a collision is as
/// likely as for random values, and costs only a byte comparison or a doubt.
enum ByteHash {
    @inline(__always) static func of(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        let raw = UnsafeRawPointer(p)
        var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        var i = 0
        while i + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            if n >= 8 {
                tail = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            } else {
                for j in 0..<n { tail = tail << 8 | UInt64(p[j]) }
            }
            h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 29
        }
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// The same kind of hash for a longer string (a whole record): four independent
    /// lanes of 8 bytes, so the multiplications overlap, then the rest through `of`.
    @inline(__always) static func wide(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        let raw = UnsafeRawPointer(p)
        let k: UInt64 = 0xBF58_476D_1CE4_E5B9
        var a = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15, b = k, c: UInt64 = 0x94D0_49BB_1331_11EB, d: UInt64 = 0xD6E8_FEB8_6659_FD93
        var i = 0
        while i + 32 <= n {
            a = (a ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* k
            b = (b ^ raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) &* k
            c = (c ^ raw.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)) &* k
            d = (d ^ raw.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)) &* k
            a ^= a >> 31
            b ^= b >> 31
            c ^= c >> 31
            d ^= d >> 31
            i += 32
        }
        var h = a ^ (b << 16 | b >> 48) ^ (c << 32 | c >> 32) ^ (d << 48 | d >> 16)
        h = (h ^ of(p + i, n - i)) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 29)
    }
}
