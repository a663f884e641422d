// The full strict check of a keystore's records, fast: what `verify` runs on a keystore
// that changed since its index was made, what `list` runs before it streams, and what a
// writer can run on the old file. It builds no KeyRecord except the ones asked for.
//
// How it stays the strict reader's verdict:
// - Each record is checked by CanonicalScanner.check, which takes only records in
//   keyctl's exact layout (a subset of what the general reader takes, with the same
//   meaning); any other record goes through the general reader (Decoder.record).
// - Records are checked in chunks that start at a `,\n{` found near equal fractions of
//   the file, on threads of their own. A chunk is used only if the chunk before it ended
//   exactly where it starts, after a `,\n` the check itself read: each record is then
//   the one a reader going from the first record would find there.
// - Ids and digests are unique, and a name belongs to at most one key in use, as
//   across the whole array, after the chunks (hashes in cache-sized hash sets, each
//   equal pair compared byte for byte; names compared as the general reader compares them).
// - Anything else — a record neither reader takes, a separator other than `,\n`, a
//   duplicate, an array not laid out one record a line — and the caller reads the
//   whole array again with the serial reader, whose fault (the first by offset, with
//   its message) is the one reported. So an answer or an error from here is always the
//   serial reader's; only its cost differs (pinned by CanonicalReaderTests).

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
        let target = onlyDigest.flatMap(KeystoreCheck.DigestWords.init)
        let collectEntries = entries != nil, collectSpans = spans != nil
        let decoder = self
        layout.withUnsafeBufferPointer { layout in
            results.withUnsafeMutableBufferPointer { results in
                KeystoreCheck.concurrently(splits.count) { i in
                    let limit = i + 1 < splits.count ? splits[i + 1] : end
                    results[i] = KeystoreCheck.check(
                        decoder, layout, from: splits[i], limit: limit, last: i + 1 == splits.count, target: target, entries: collectEntries,
                        spans: collectSpans)
                }
            }
        }
        guard let merged = KeystoreCheck.merge(results, splits: splits, bytes: reader.bytes), merged.namesUnique(reader) else {
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
        if collectEntries { entries = merged.entries }
        if collectSpans { spans = merged.spans }
        return out
    }
}

enum KeystoreCheck {
    /// A records region this size or more is split across the processors (up to four).
    static let parallelBytes = 256 << 10

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

    /// What one chunk found.
    struct Chunk {
        var ok = false
        /// After the last record's `}`.
        var end = 0
        /// The array ended after it (`\n]`), rather than a `,\n` at the chunk's limit.
        var closed = false
        /// Records the canonical check took (the rest went through the general reader).
        var checked = 0
        /// Per record: a hash of its id (high 34 bits) and the id's offset (low 30).
        var ids: [UInt64] = []
        /// The same for its digest.
        var digests: [UInt64] = []
        /// The names of keys in use, in order.
        var names: [JSONStringToken] = []
        /// Records whose digest is the one looked for.
        var matches: [Int] = []
        var entries: [KeystoreIndex.Entry] = []
        var spans: [RecordSpan] = []
    }

    /// Checks the records from `from` (a record's `{`) to `limit`: the chunk must end at
    /// `limit` after a `,\n`, or, when `last`, with the array's `\n]`.
    static func check(
        _ decoder: KeystoreCodec.Decoder, _ layout: UnsafeBufferPointer<CanonicalLayout.Step>, from: Int, limit: Int, last: Bool,
        target: DigestWords?, entries: Bool, spans: Bool
    ) -> Chunk {
        let bytes = decoder.reader.bytes
        let base = bytes.baseAddress!
        let end = bytes.count
        var out = Chunk()
        let expected = (limit - from) / 300 + 16
        out.ids.reserveCapacity(expected)
        out.digests.reserveCapacity(expected)
        if entries { out.entries.reserveCapacity(expected) }
        if spans { out.spans.reserveCapacity(expected) }
        var general: KeystoreCodec.Decoder?
        var scanner = CanonicalScanner(base: base, end: end, p: from)
        var fields = CheckedRecord()
        while true {
            let start = scanner.p
            guard start < limit else { return out }
            var createdAt: Timestamp?
            if scanner.check(layout, into: &fields) {
                out.checked += 1
            } else {
                // Not keyctl's layout: the general reader takes the record, or the serial reader will report it.
                if general == nil { general = decoder }
                general!.reader.seek(to: start)
                guard (try? general!.record()) != nil else { return out }
                let raw = general!.raw
                fields.id = raw.id.range
                fields.name = raw.name.range
                fields.digest = raw.digest.range.lowerBound
                fields.inUse = raw.isInUse
                if case .time(let t) = raw.values[RecordSpan.createdAtSlot] { createdAt = t }
                if raw.name.hasEscapes && fields.inUse {
                    out.names.append(raw.name)
                    fields.inUse = false  // noted already, with its escapes
                }
                scanner.p = general!.reader.position
            }
            let recordEnd = scanner.p
            out.ids.append(packed(fields.id.lowerBound, fields.id.count, in: bytes))
            out.digests.append(packed(fields.digest, 64, in: bytes))
            if fields.inUse { out.names.append(JSONStringToken(range: fields.name, hasEscapes: false)) }
            if let target, target.matches(base + fields.digest) { out.matches.append(start) }
            if entries {
                out.entries.append(
                    KeystoreIndex.Entry(hex: UnsafeBufferPointer(start: base + fields.digest, count: 64), offset: start, length: recordEnd - start))
            }
            if spans {
                guard let created = createdAt ?? RFC3339.parseCanonical(base + fields.createdAt) else { return out }
                out.spans.append(RecordSpan(offset: UInt32(start), length: UInt32(recordEnd - start), createdAt: created))
            }
            // One record a line: `,\n` before the next, `\n]` after the last.
            guard recordEnd + 1 < end else { return out }
            if base[recordEnd] == 0x2c && base[recordEnd + 1] == 0x0a {
                scanner.p = recordEnd + 2
                if scanner.p == limit && !last {
                    out.end = recordEnd
                    out.ok = true
                    return out
                }
            } else if base[recordEnd] == 0x0a && base[recordEnd + 1] == 0x5d && last {
                out.end = recordEnd
                out.closed = true
                out.ok = true
                return out
            } else {
                return out
            }
        }
    }

    /// A content hash of `count` bytes at `offset` (high 34 bits) and the offset (low 30:
    /// a keystore is at most 1 GiB).
    @inline(__always) static func packed(_ offset: Int, _ count: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let h = UInt64(bitPattern: Int64(RangeSet.hash(offset, count, in: bytes)))
        return (h >> 30) << 30 | UInt64(offset)
    }

    /// The chunks together, or nil when they do not make one array or a check across
    /// records fails.
    struct Merged {
        var end = 0
        var checked = 0
        var matches: [Int] = []
        var names: [JSONStringToken] = []
        var entries: [KeystoreIndex.Entry] = []
        var spans: [RecordSpan] = []

        /// No two keys in use share a name, compared as the serial reader compares them.
        func namesUnique(_ reader: JSONReader) -> Bool {
            var seen = Set<String>()
            for name in names where !seen.insert(String(decoding: reader.unescaped(name), as: UTF8.self)).inserted { return false }
            return true
        }
    }

    static func merge(_ chunks: [Chunk], splits: [Int], bytes: UnsafeBufferPointer<UInt8>) -> Merged? {
        var merged = Merged()
        for (i, chunk) in chunks.enumerated() {
            guard chunk.ok else { return nil }
            // Chunk i ended with `,\n` right where chunk i + 1 starts (checked in `check`), or closed the array.
            if i + 1 < chunks.count {
                guard !chunk.closed, chunk.end + 2 == splits[i + 1] else { return nil }
            } else {
                guard chunk.closed else { return nil }
            }
            merged.checked += chunk.checked
            merged.matches += chunk.matches
            merged.names += chunk.names
            merged.entries += chunk.entries
            merged.spans += chunk.spans
        }
        merged.end = chunks.last!.end
        let ids = chunks.flatMap(\.ids)
        let digests = chunks.flatMap(\.digests)
        var idsUnique = true, digestsUnique = true
        let base = bytes.baseAddress!
        concurrently(ids.count >= 50_000 ? 2 : 1) { _ in
            idsUnique = !hasDuplicate(ids) { a, b in
                // Ids end at their quote (the readers checked that), so they are compared through it.
                var i = 0
                while base[a + i] == base[b + i] {
                    if base[a + i] == 0x22 { return true }
                    i += 1
                }
                return false
            }
        } other: {
            digestsUnique = !hasDuplicate(digests) { a, b in memcmp(base + a, base + b, 64) == 0 }
        }
        guard idsUnique && digestsUnique else { return nil }
        return merged
    }

    /// Whether two of `keys` (a content hash in the high 34 bits, an offset in the low 30)
    /// have equal hashes and are the same according to `same`. The keys are first split
    /// by their top bits into parts small enough that a part's hash set stays in the
    /// cache; then each part goes through an open-addressing set of its own.
    static func hasDuplicate(_ keys: [UInt64], same: (Int, Int) -> Bool) -> Bool {
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
        let hashBits: UInt64 = ~0 << 30
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
                    for k in keys[lo..<hi] {
                        // Offsets are never 0 (a keystore starts with '{'), so 0 is an empty slot.
                        var i = Int(truncatingIfNeeded: k >> 30) & mask
                        while table[i] != 0 {
                            if table[i] & hashBits == k & hashBits && same(Int(table[i] & ~hashBits), Int(k & ~hashBits)) { return true }
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
