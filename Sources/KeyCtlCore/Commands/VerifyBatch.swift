// `verify --batch`: one JSON answer line per input line, written as soon as the line
// is answered, so a server can keep one keyctl as a helper (Apache's RewriteMap prg:).
//
// - Each line is answered against the keystore as it is when the line is read, and
//   at the time it is read: after every read(2) of input, before the first line it
//   brought is answered, the clock is read once and one stat(2)
//   of the keystore is compared with the version in memory, and a
//   changed file (keyctl replaces it by rename) is read again in full, with every check
//   `load` makes. A revoke is therefore seen from the next line on. Stamps go to the
//   usage file (VerifyCommand.stamp), never the keystore, so they cause no re-read.
//   A co-process's lines come one read(2) each, so each of them gets its own stat(2).
// - A line costs its own work only. The common line, a valid key in any form, goes
//   through `BatchKeystore.valid`: the bytes of the line
//   as they sit in the input buffer are unwrapped (PresentedKey.unwrap(bytes:)) and
//   checked (APIKey.check), hashed (SHA256.digest, no allocation) and looked up by
//   digest; a key that is active or retiring and grants --require gets its valid
//   answer, made once per key until the keystore is read again. Every other line
//   (malformed, unknown, expired, revoked, forbidden, any byte not ASCII) goes
//   through `VerifyCommand.judge`, the single verify's own judgement. The shortcut
//   uses the same unwrapping and checking code as the single verify, and
//   VerifyBatchFastPathTests hold every batch answer to the single `verify --json`
//   of the same text, and the shortcut to `judge` on seeded random lines.
// - Memory is bounded: input goes through one fixed buffer; a line longer than
//   `maximumInputLine` is skipped to its end without being kept, and answered malformed.
// - A keystore that cannot be read ends the batch with the usual error and exit status;
//   answers already written stand.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

enum VerifyBatch {
    static func run(_ options: VerifyOptions, _ inv: Invocation, required: Permissions, stamping: Bool) throws -> Int32 {
        if options.key != nil || options.fromEnv != nil {
            throw inv.usage("--batch reads keys from standard input, one a line; give no KEY or --from-env")
        }
        let keystore = BatchKeystore(file: try inv.keystoreFile(), required: required)
        var now = inv.context.now()
        try keystore.refresh(now: now)
        var lines = LineReader(read: inv.context.readInput)
        var number = 0
        var checkedAtRead = lines.reads
        var out: [UInt8] = []
        out.reserveCapacity(512)
        while let line = try lines.next() {
            number += 1
            // Lines that came in one read(2) were read at the same moment: one clock reading
            // and one check of the keystore serve them all.
            if lines.reads != checkedAtRead {
                checkedAtRead = lines.reads
                now = inv.context.now()
                try keystore.refresh(now: now)
            }
            var valid: Int?
            if case .text(let bytes) = line, let known = keystore.valid(bytes, now: now) {
                valid = known
            } else {
                let text: String
                switch line {
                case .tooLong: text = "\u{FFFD}"  // malformed, whatever it held
                case .text(let bytes): text = trimmed(bytes)
                }
                let answer = try VerifyCommand.judge(text, required: required, now: now, inv: inv) { digest in
                    (keystore.prefix, digest.flatMap { keystore.records[$0] })
                }
                if answer.code == nil, let record = answer.record, let known = keystore.entry(record) {
                    valid = known
                } else {
                    try inv.output(VerifyCommand.json(answer, line: number))
                    continue
                }
            }
            guard let valid else { continue }  // never: both ways set it or continue
            if stamping { keystore.stampIfDue(valid, now: now) }
            // A valid answer is the same for every line with that key until the keystore changes.
            out.removeAll(keepingCapacity: true)
            out.append(contentsOf: "{\"line\":".utf8)
            appendDecimal(number, to: &out)
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: keystore.validAnswer(valid))
            try inv.output(out)
        }
        return 0
    }

    /// `n` (not negative) in decimal, as `"\(n)"` writes it.
    static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for any Int
        var rest = UInt64(n)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                count += 1
                buffer[24 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            out.append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// The line as text with surrounding whitespace trimmed: String.trimmingSpaces(),
    /// without its Unicode look-ups when both ends are ASCII that is not whitespace
    /// (the only bytes where the two could differ lead to the general path).
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        let (start, end) = asciiTrimmed(bytes)
        guard start < end, bytes[start] < 0x80, bytes[end - 1] < 0x80 else {
            return String(decoding: bytes, as: UTF8.self).trimmingSpaces()
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// The bounds of `bytes` without ASCII whitespace (tab, LF, VT, FF, CR, space) at either end.
    @inline(__always) static func asciiTrimmed(_ bytes: ArraySlice<UInt8>) -> (Int, Int) {
        var start = bytes.startIndex
        var end = bytes.endIndex
        func isASCIISpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) }
        while start < end, isASCIISpace(bytes[start]) { start += 1 }
        while end > start, isASCIISpace(bytes[end - 1]) { end -= 1 }
        return (start, end)
    }
}

/// The keystore as `--batch` last read it: records by digest for `judge`, and for the
/// common line a table by binary digest of the keys that were active or retiring when
/// it was read, with each one's valid answer. (A key missing from the table only goes
/// the slow way: time moves on, so a revoked or expired key stays so.)
final class BatchKeystore {
    let file: KeystoreFile
    let required: Permissions
    private(set) var prefix = ""
    private var prefixBytes: [UInt8] = []
    private(set) var records: [String: KeyRecord] = [:]
    private var identity: KeystoreIndex.Identity?

    /// A record `valid` may answer for, by index in `entries`.
    struct Entry {
        let record: KeyRecord
        let digest: SHA256.Digest
        /// Whether its permissions grant --require (fixed for the batch).
        let grants: Bool
        /// The last use known: the record's `last_used_at` or this batch's newer stamp.
        var lastUse: Timestamp?
        /// Its valid answer after `{"line":N,`, made on first use.
        var answer: [UInt8]?
    }
    private var entries: [Entry] = []
    private var byDigest: [SHA256.Digest: Int] = [:]
    /// This batch's stamps, by key, kept across re-reads (the keystore never holds them).
    private var stamped: [SHA256.Digest: Timestamp] = [:]

    init(file: KeystoreFile, required: Permissions) {
        self.file = file
        self.required = required
    }

    /// Reads the keystore again if the file at its path is not the version in memory.
    func refresh(now time: Timestamp) throws {
        var st = stat()
        let now: KeystoreIndex.Identity? = stat(file.path, &st) == 0 ? KeystoreIndex.Identity(st) : nil
        if let now, let identity, now == identity { return }
        // Stat first, then read: a change in between is seen as a change at the next line.
        let keystore = try file.load()
        prefix = keystore.prefix
        prefixBytes = Array(prefix.utf8)
        records = Dictionary(keystore.keys.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        entries = []
        byDigest = [:]
        for record in records.values {
            switch record.status(at: time) {
            case .active, .retiring: _ = entry(record)  // nil never: the keystore's check
            case .expired, .revoked: break
            }
        }
        identity = now
    }

    /// The entry of this record (one of `records`), made if it has none yet.
    func entry(_ record: KeyRecord) -> Int? {
        guard let digest = SHA256.Digest(hex: record.digest) else { return nil }
        if let known = byDigest[digest] { return known }
        var lastUse = record.lastUsedAt
        if let last = stamped[digest], last > lastUse ?? Int64.min { lastUse = last }
        entries.append(Entry(record: record, digest: digest, grants: record.permissions.grants(required), lastUse: lastUse))
        byDigest[digest] = entries.count - 1
        return entries.count - 1
    }

    /// The entry of the key on this line if it is valid now (what `judge` would answer
    /// valid, with this record); nil for anything else, which `judge` answers. Only
    /// ASCII can pass: every form, key and Base64 byte APIKey.check and
    /// PresentedKey.unwrap accept is ASCII, and ASCII's whitespace is exactly what
    /// trimmingSpaces() trims of it.
    func valid(_ line: ArraySlice<UInt8>, now: Timestamp) -> Int? {
        let (start, end) = VerifyBatch.asciiTrimmed(line)
        guard start < end, let key = PresentedKey.unwrap(bytes: line[start..<end]),
            case .success(let shape) = APIKey.check(key),
            key[key.startIndex..<shape.prefixEnd].elementsEqual(prefixBytes)
        else { return nil }
        let digest = key.withUnsafeBytes { SHA256.digest($0) }
        guard let i = byDigest[digest], entries[i].grants else { return nil }
        switch entries[i].record.status(at: now) {
        case .active, .retiring: return i
        case .expired, .revoked: return nil
        }
    }

    /// The record of entry `i`.
    func record(_ i: Int) -> KeyRecord { entries[i].record }

    /// The valid answer of entry `i`, after `{"line":N,`.
    func validAnswer(_ i: Int) -> [UInt8] {
        if let known = entries[i].answer { return known }
        let made = Array(VerifyCommand.json(VerifyCommand.Answer(code: nil, record: entries[i].record)).dropFirst())
        entries[i].answer = made
        return made
    }

    /// Records a use of entry `i` unless one is known from the last minute (VerifyCommand.stamp).
    func stampIfDue(_ i: Int, now: Timestamp) {
        // Throttle here too: the record in memory is only as new as the last reload.
        guard entries[i].lastUse.map({ now - $0 >= VerifyCommand.stampInterval || now < $0 }) ?? true else { return }
        var record = entries[i].record
        record.lastUsedAt = entries[i].lastUse
        stamped[entries[i].digest] = now
        entries[i].lastUse = now
        VerifyCommand.stamp(record, in: file, now: now)
    }
}

/// Lines of standard input through one fixed buffer.
struct LineReader {
    enum Line {
        case text(ArraySlice<UInt8>)
        /// Longer than maximumInputLine; its bytes were skipped, not kept.
        case tooLong
    }

    let read: (UnsafeMutableRawBufferPointer) -> Int
    let limit: Int
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEnd = false
    private var skipping = false
    /// How many times input was read: a new value means lines from a new read.
    private(set) var reads = 0

    init(read: @escaping (UnsafeMutableRawBufferPointer) -> Int, limit: Int = maximumInputLine, capacity: Int = 1 << 16) {
        self.read = read
        self.limit = limit
        buffer = [UInt8](repeating: 0, count: max(capacity, limit + 2))
    }

    /// The next line without its ending (LF, or CRLF), nil at the end of input.
    mutating func next() throws -> Line? {
        while true {
            if let newline = buffer.withUnsafeBytes({ raw in
                memchr(raw.baseAddress! + start, 0x0a, end - start).map { $0 - UnsafeMutableRawPointer(mutating: raw.baseAddress!) }
            }) {
                var line = buffer[start..<newline]
                start = newline + 1
                if skipping {
                    skipping = false
                    return .tooLong
                }
                if line.last == 0x0d { line = line.dropLast() }
                return line.count > limit ? .tooLong : .text(line)
            }
            if skipping || end - start > limit + 1 {
                // No line end in sight and already too long: drop what is buffered.
                skipping = true
                start = 0
                end = 0
            }
            if atEnd {
                if skipping {
                    skipping = false
                    return .tooLong
                }
                guard end > start else { return nil }
                let line = buffer[start..<end]
                start = end
                return line.count > limit ? .tooLong : .text(line)
            }
            if start > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    _ = memmove(raw.baseAddress!, raw.baseAddress! + start, end - start)
                }
                end -= start
                start = 0
            }
            reads += 1
            let n = buffer.withUnsafeMutableBytes { raw in read(UnsafeMutableRawBufferPointer(rebasing: raw[end...])) }
            if n < 0 { throw KeyCtlError(.ioError, "could not read standard input") }
            if n == 0 { atEnd = true }
            end += n
        }
    }
}
