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
            if step.nullable && literal("null") {
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
                if literal("\"live\"") {
                    values[i] = .environment(.live)
                } else if literal("\"test\"") {
                    values[i] = .environment(.test)
                } else {
                    return false
                }
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

    @inline(__always) func byte(_ offset: Int) -> UInt8? {
        p + offset < end ? base[p + offset] : nil
    }

    /// `"key_` + 1-64 base62 digits + `"`.
    mutating func quotedID() -> JSONStringToken? {
        let start = p
        guard literal("\"key_") else { return nil }
        let first = p
        while p < end, Base62.value(of: base[p]) != nil { p += 1 }
        let count = p - first
        guard count >= 1, count <= 64, p < end, base[p] == 0x22 else {
            p = start
            return nil
        }
        p += 1
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

    mutating func environment() -> KeyEnvironment? {
        if literal("live") { return .live }
        if literal("test") { return .test }
        return nil
    }

    /// One or more of "read", "write", "admin", "webhook", comma-separated.
    mutating func permissions() -> Permissions? {
        var set = Permissions()
        repeat {
            if literal("\"read\"") {
                set.insert(.read)
            } else if literal("\"write\"") {
                set.insert(.write)
            } else if literal("\"admin\"") {
                set.insert(.admin)
            } else if literal("\"webhook\"") {
                set.insert(.webhook)
            } else {
                return nil
            }
        } while literal(",")
        return set
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
