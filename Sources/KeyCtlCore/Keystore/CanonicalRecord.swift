// The fast path of the keystore reader. A record written by KeystoreCodec.encode
// has one exact layout; this scanner checks a record against that layout — fixed
// field names in fixed order, each value in the form keyctl writes it — and hands
// back the same RawRecord the general reader would. Anything else (other spacing,
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
    mutating func canonicalRecord() -> RawRecord? {
        guard let base = reader.bytes.baseAddress else { return nil }
        var scanner = CanonicalScanner(base: base, end: reader.bytes.count, p: reader.position)
        guard let raw = scanner.record() else { return nil }
        reader.seek(to: scanner.p)
        return raw
    }
}

struct CanonicalScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    var p: Int

    typealias RawRecord = KeystoreCodec.Decoder.RawRecord

    mutating func record() -> RawRecord? {
        guard literal("{\"id\":"), let id = quotedID(),
            literal(",\"name\":"), let name = quotedText(maxBytes: Names.maxLength),
            literal(",\"digest\":"), let digest = quotedDigest(),
            literal(",\"hint\":"), let hint = quotedText(maxBytes: 64),
            literal(",\"environment\":\""), let environment = environment(),
            literal("\",\"permissions\":["), let permissions = permissions(),
            literal("],\"created_at\":"), let createdAt = quotedTime(),
            literal(",\"expires_at\":"), let expiresAt = nullOr({ $0.quotedTime() }),
            literal(",\"revoked_at\":"), let revokedAt = nullOr({ $0.quotedTime() }),
            literal(",\"last_used_at\":"), let lastUsedAt = nullOr({ $0.quotedTime() }),
            literal(",\"rotated_from\":"), let rotatedFrom = nullOr({ $0.quotedID() }),
            literal(",\"rotated_to\":"), let rotatedTo = nullOr({ $0.quotedID() }),
            literal("}")
        else { return nil }
        return RawRecord(
            id: id, name: name, digest: digest, hint: hint, environment: environment, permissions: permissions,
            createdAt: createdAt, expiresAt: expiresAt, revokedAt: revokedAt, lastUsedAt: lastUsedAt,
            rotatedFrom: rotatedFrom, rotatedTo: rotatedTo)
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

    /// `null` → .some(nil); a value → .some(value); anything else → nil.
    @inline(__always) mutating func nullOr<T>(_ read: (inout CanonicalScanner) -> T?) -> T?? {
        if literal("null") { return .some(nil) }
        guard let value = read(&self) else { return nil }
        return .some(value)
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

    /// A string of printable ASCII (no quote, no backslash) and U+2026, 1...maxBytes bytes.
    mutating func quotedText(maxBytes: Int) -> JSONStringToken? {
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
        guard p < end, base[p] == 0x22, count >= 1, count <= maxBytes else {
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
