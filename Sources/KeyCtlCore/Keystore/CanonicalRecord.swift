// The fast path of the keystore reader. A record written by KeystoreCodec.encode
// has one exact layout; this scanner checks a record against that layout — the
// fields of RecordSchema in its order, each value in the form keyctl writes it —
// and fills in the same RawRecord the general reader would. Anything else (other spacing,
// field order, escapes, non-ASCII beyond the hint's ellipsis) returns nil without
// moving, and the general reader takes the record and reports any fault.
//
// The two must agree: every record this accepts, the general reader accepts with
// the same values (pinned by the differential tests and the decoder fuzz target).
// On a keystore with years of revoked records this is what keeps `verify` cheap.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

extension KeystoreCodec.Decoder {
    /// Takes the record at the reader's position if it is in keyctl's exact layout.
    mutating func canonicalRecord() -> Bool {
        guard let base = reader.bytes.baseAddress else { return false }
        var scanner = CanonicalScanner(base: base, end: reader.bytes.count, p: reader.position)
        let taken = raw.values.withUnsafeMutableBufferPointer { values in
            steps.withUnsafeBufferPointer { steps in scanner.record(into: values, steps: steps, version: layoutVersion) }
        }
        guard taken else { return false }
        reader.seek(to: scanner.p)
        return true
    }
}

struct CanonicalScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    var p: Int

    typealias FieldValue = KeystoreCodec.Decoder.FieldValue

    /// Reads one record's values into `values`, one per step; false (values
    /// unspecified, position unmoved by the caller) when it is not in the layout.
    mutating func record(into values: UnsafeMutableBufferPointer<FieldValue>, steps: UnsafeBufferPointer<FieldStep>, version: Int) -> Bool {
        for i in 0..<steps.count {
            let step = steps[i]
            if step.since > version {
                values[i] = .absent
                continue
            }
            guard literal(step.literal) else { return false }
            if step.nullable && null() {
                values[i] = .null
                continue
            }
            switch step.kind {
            case .id, .link:
                guard let t = quotedID() else { return false }
                values[i] = .string(t)
            case .text, .hint:
                guard let t = quotedText(minBytes: step.minBytes, maxBytes: step.maxBytes) else { return false }
                values[i] = .string(t)
            case .digest:
                guard let t = quotedDigest() else { return false }
                values[i] = .string(t)
            case .environment:
                guard let e = quotedEnvironment() else { return false }
                values[i] = .environment(e)
            case .permissions:
                guard literal("["), let set = permissions(), literal("]") else { return false }
                values[i] = .permissions(set)
            case .time:
                guard let t = quotedTime() else { return false }
                values[i] = .time(t)
            }
        }
        return literal("}")  // mutation-point: scanner-takes-records
    }

    @inline(__always) mutating func literal(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = s.count
        guard p + n <= end, memcmp(base + p, s.baseAddress!, n) == 0 else { return false }
        p += n
        return true
    }

    @inline(__always) mutating func literal(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard p + n <= end, memcmp(base + p, s.utf8Start, n) == 0 else { return false }
        p += n
        return true
    }

    /// The eight bytes at `p + offset` as a little-endian word (the caller checked they are there).
    @inline(__always) func word(_ offset: Int = 0) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(base + p + offset).loadUnaligned(as: UInt64.self))
    }

    /// Takes `count` (≤ 8) bytes equal to the low bytes of `expected`; needs eight bytes left.
    @inline(__always) mutating func short(_ expected: UInt64, _ count: Int) -> Bool {
        guard p + 8 <= end, word() & (~0 >> (64 - 8 * UInt64(count))) == expected else { return false }
        p += count
        return true
    }

    /// A field's `,"name":` (or `{"id":`), compared as one or two words, no call to memcmp.
    @inline(__always) mutating func literal(_ w: CanonicalLayout.Literal) -> Bool {
        let n = w.count
        if n >= 8 {
            guard p + n <= end, word() == w.head, word(n - 8) == w.tail else { return false }
            p += n
            return true
        }
        return short(w.head, n)
    }

    /// `null` (four bytes, "null" little-endian).
    @inline(__always) mutating func null() -> Bool {
        guard p + 4 <= end, UnsafeRawPointer(base + p).loadUnaligned(as: UInt32.self) == UInt32(littleEndian: 0x6c6c_756e) else { return false }
        p += 4
        return true
    }

    @inline(__always) func byte(_ offset: Int) -> UInt8? {
        p + offset < end ? base[p + offset] : nil
    }

    /// `"key_` + 1-64 base62 digits + `"`.
    mutating func quotedID() -> JSONStringToken? {
        let start = p
        guard skipID() else { return nil }
        return JSONStringToken(range: (start + 1)..<(p - 1), hasEscapes: false)
    }

    /// A string of printable ASCII (no quote, no backslash) and U+2026, minBytes...maxBytes bytes.
    mutating func quotedText(minBytes: Int, maxBytes: Int) -> JSONStringToken? {
        let start = p
        guard p < end, base[p] == 0x22 else { return nil }
        p += 1
        while p + 8 <= end, SWAR.allPlainASCII(UnsafeRawPointer(base + p).loadUnaligned(as: UInt64.self)) { p += 8 }
        while p < end {
            let c = base[p]
            if c >= 0x20 && c < 0x7f && c != 0x22 && c != 0x5c {
                p += 1
            } else if c == 0xE2 && p + 2 < end && base[p + 1] == 0x80 && base[p + 2] == 0xA6 {
                p += 3
            } else {
                break
            }
        }
        let count = p - start - 1
        guard p < end, base[p] == 0x22, count >= minBytes, count <= maxBytes else {
            p = start
            return nil
        }
        p += 1
        return JSONStringToken(range: (start + 1)..<(p - 1), hasEscapes: false)
    }

    /// `"` + 64 lowercase hex digits + `"`, checked eight bytes at a time.
    mutating func quotedDigest() -> JSONStringToken? {
        guard p + 66 <= end, base[p] == 0x22, base[p + 65] == 0x22 else { return nil }
        let raw = UnsafeRawPointer(base + p + 1)
        for word in 0..<8 where !SWAR.allLowercaseHex(raw.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)) {
            return nil
        }
        p += 66
        return JSONStringToken(range: (p - 65)..<(p - 1), hasEscapes: false)
    }

    /// `"YYYY-MM-DDTHH:MM:SSZ"`.
    mutating func quotedTime() -> Timestamp? {
        guard p + 22 <= end, base[p] == 0x22, base[p + 21] == 0x22,
            let t = RFC3339.parseCanonical(base + p + 1)
        else { return nil }
        p += 22
        return t
    }

    /// One or more of "read", "write", "admin", "webhook", comma-separated; each
    /// compared as one word (the record goes on after them, so eight bytes are there).
    mutating func permissions() -> Permissions? {
        var set = Permissions()
        while true {
            if short(0x2264_6165_7222, 6) {  // "read"
                set.insert(.read)
            } else if short(0x22_6574_6972_7722, 7) {  // "write"
                set.insert(.write)
            } else if short(0x22_6e69_6d64_6122, 7) {  // "admin"
                set.insert(.admin)
            } else if literal("\"webhook\"") {
                set.insert(.webhook)
            } else {
                return nil
            }
            guard p < end, base[p] == 0x2c else { return set }
            p += 1
        }
    }

    /// `"live"` or `"test"`.
    @inline(__always) mutating func quotedEnvironment() -> KeyEnvironment? {
        if short(0x2265_7669_6c22, 6) { return .live }
        if short(0x2274_7365_7422, 6) { return .test }
        return nil
    }

    /// `"YYYY-MM-DDTHH:MM:SSZ"` checked as parseCanonical checks it, the time not computed.
    @inline(__always) mutating func skipTime() -> Bool {
        guard p + 22 <= end, base[p] == 0x22, base[p + 21] == 0x22, RFC3339.canonicalFields(base + p + 1) != nil else { return false }
        p += 22
        return true
    }

    /// `"key_` + 1-64 base62 digits + `"`, eight digits a step.
    @inline(__always) mutating func skipID() -> Bool {
        let start = p
        guard short(0x5f_7965_6b22, 5) else { return false }
        let first = p
        while p + 8 <= end, SWAR.allBase62(word()) { p += 8 }
        while p < end, Base62.value(of: base[p]) != nil { p += 1 }
        let count = p - first
        guard count >= 1, count <= 64, p < end, base[p] == 0x22 else {
            p = start
            return false
        }
        p += 1
        return true
    }

    /// Checks the record at `p` against the layout and takes it (true), noting where the
    /// fields the checks across records need lie; builds no value. Accepts exactly what
    /// `record(into:steps:version:)` accepts (CanonicalReaderTests holds them together).
    mutating func check(_ layout: UnsafeBufferPointer<CanonicalLayout.Step>, into out: inout CheckedRecord) -> Bool {
        out.inUse = true
        for i in 0..<layout.count {
            let step = layout[i]
            guard literal(step.literal) else { return false }
            if step.nullable && null() { continue }
            let at = p
            switch step.kind {
            case .id, .link:
                guard skipID() else { return false }
            case .text, .hint:
                guard quotedText(minBytes: step.minBytes, maxBytes: step.maxBytes) != nil else { return false }
            case .digest:
                guard quotedDigest() != nil else { return false }
            case .environment:
                guard quotedEnvironment() != nil else { return false }
            case .permissions:
                guard p < end, base[p] == 0x5b else { return false }
                p += 1
                guard permissions() != nil, p < end, base[p] == 0x5d else { return false }
                p += 1
            case .time:
                guard skipTime() else { return false }
            }
            switch step.role {
            case .none: break
            case .id: out.id = (at + 1)..<(p - 1)
            case .name: out.name = (at + 1)..<(p - 1)
            case .digest: out.digest = at + 1
            case .revokedAt: out.inUse = false
            case .createdAt: out.createdAt = at + 1
            }
        }
        guard p < end, base[p] == 0x7d else { return false }  // mutation-point: checker-takes-records
        p += 1
        return true
    }
}

/// Where the fields of a checked record lie (offsets into the keystore).
struct CheckedRecord {
    var id: Range<Int> = 0..<0
    var name: Range<Int> = 0..<0
    /// The 64 hex digits.
    var digest = 0
    /// The 20 characters of created_at.
    var createdAt = 0
    /// Not revoked or retiring: owns its name.
    var inUse = true
}

/// The record layout of one format version, as the checker walks it: only the fields
/// that version stores, each with its literal as words.
enum CanonicalLayout {
    struct Literal {
        /// The first eight bytes (all of them, zero-padded, when fewer), little-endian.
        var head: UInt64
        /// The last eight bytes (count ≥ 8).
        var tail: UInt64
        var count: Int
    }

    /// The fields the checks across records need.
    enum Role {
        case none, id, name, digest, revokedAt, createdAt
    }

    struct Step {
        var literal: Literal
        var kind: ValueKind
        var nullable: Bool
        var minBytes: Int
        var maxBytes: Int
        var role: Role
    }

    static func steps(version: Int) -> [Step] {
        RecordSchema.steps.compactMap { step in
            guard step.since <= version else { return nil }
            let bytes = Array(step.literal)
            func word(_ from: Int) -> UInt64 {
                var w: UInt64 = 0
                for i in (from..<min(from + 8, bytes.count)).reversed() { w = w << 8 | UInt64(bytes[i]) }
                return w
            }
            let role: Role =
                switch step.field {
                case .id: .id
                case .name: .name
                case .digest: .digest
                case .revokedAt: .revokedAt
                case .createdAt: .createdAt
                default: .none
                }
            return Step(
                literal: Literal(head: word(0), tail: bytes.count >= 8 ? word(bytes.count - 8) : 0, count: bytes.count), kind: step.kind,
                nullable: step.nullable, minBytes: step.minBytes, maxBytes: step.maxBytes, role: role)
        }
    }
}

/// Checks on eight bytes at once (SIMD within a register). Each byte is tested
/// without carries leaking between bytes: values are first confined below 0x80.
enum SWAR {
    static let high: UInt64 = 0x8080_8080_8080_8080

    @inline(__always) static func broadcast(_ b: UInt8) -> UInt64 { 0x0101_0101_0101_0101 &* UInt64(b) }

    /// High bit set in each byte of `x` (all bytes < 0x80) that is ≥ `b` (b ≤ 0x80).
    @inline(__always) static func atLeast(_ x: UInt64, _ b: UInt8) -> UInt64 { (x &+ broadcast(0x80 &- b)) & high }

    /// High bit set in each byte of `x` (all bytes < 0x80) that equals `b`.
    @inline(__always) static func equal(_ x: UInt64, _ b: UInt8) -> UInt64 {
        let y = x ^ broadcast(b)  // zero where equal; bytes stay < 0x80
        return ~(y &+ broadcast(0x7F)) & high
    }

    /// Every byte is 0-9.
    @inline(__always) static func allDigits(_ x: UInt64) -> Bool {
        x & high == 0 && atLeast(x, 0x30) & ~atLeast(x, 0x3A) == high
    }

    /// Every byte is 0-9, A-Z or a-z.
    @inline(__always) static func allBase62(_ x: UInt64) -> Bool {
        guard x & high == 0 else { return false }
        let digit = atLeast(x, 0x30) & ~atLeast(x, 0x3A)
        let upper = atLeast(x, 0x41) & ~atLeast(x, 0x5B)
        let lower = atLeast(x, 0x61) & ~atLeast(x, 0x7B)
        return digit | upper | lower == high
    }

    /// Every byte is 0-9 or a-f.
    @inline(__always) static func allLowercaseHex(_ x: UInt64) -> Bool {
        guard x & high == 0 else { return false }
        let digit = atLeast(x, 0x30) & ~atLeast(x, 0x3A)
        let letter = atLeast(x, 0x61) & ~atLeast(x, 0x67)
        return digit | letter == high
    }

    /// Every byte is printable ASCII (0x20-0x7E) other than a quote or a backslash.
    @inline(__always) static func allPlainASCII(_ x: UInt64) -> Bool {
        guard x & high == 0 else { return false }
        let bad = ~atLeast(x, 0x20) & high | equal(x, 0x22) | equal(x, 0x5C) | equal(x, 0x7F)
        return bad == 0
    }
}
