// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib) and base62
// (digits 0-9A-Za-z), the two pieces of the key checksum.

public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Tables for slicing-by-8: table k maps a byte to its CRC contribution k bytes
    /// further on. Built on first use, which only writing an index needs.
    private static let slices: [[UInt32]] = {
        var tables = [table]
        for k in 1..<8 {
            tables.append(
                (0..<256).map { n in
                    let previous = tables[k - 1][n]
                    return table[Int(previous & 0xff)] ^ (previous >> 8)
                })
        }
        return tables
    }()

    /// The same CRC-32, eight bytes a step: for the thousands of index entries.
    public static func checksumSliced(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let t = slices
        var crc: UInt32 = 0xFFFF_FFFF
        var i = 0
        while i + 8 <= bytes.count {
            let lo = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self)) ^ crc
            let hi = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
            crc =
                t[7][Int(lo & 0xff)] ^ t[6][Int(lo >> 8 & 0xff)] ^ t[5][Int(lo >> 16 & 0xff)] ^ t[4][Int(lo >> 24)]
                ^ t[3][Int(hi & 0xff)] ^ t[2][Int(hi >> 8 & 0xff)] ^ t[1][Int(hi >> 16 & 0xff)] ^ t[0][Int(hi >> 24)]
            i += 8
        }
        while i < bytes.count {
            crc = table[Int((crc ^ UInt32(bytes[i])) & 0xff)] ^ (crc >> 8)
            i += 1
        }
        return crc ^ 0xFFFF_FFFF
    }

    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

public enum Base62 {
    public static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    @inline(__always) public static func isDigit(_ c: UInt8) -> Bool { value(of: c) != nil }

    public static func value(of c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return Int(c - UInt8(ascii: "A")) + 10
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return Int(c - UInt8(ascii: "a")) + 36
        default: return nil
        }
    }

    /// `value` in base62, most significant digit first, zero-padded to `width` digits.
    /// Width must be large enough: 62^6 > 2^32, so 6 digits hold any CRC-32.
    public static func encode(_ value: UInt64, width: Int) -> String {
        var digits = [UInt8](repeating: alphabet[0], count: width)
        var rest = value
        var i = width - 1
        while rest > 0 && i >= 0 {
            digits[i] = alphabet[Int(rest % 62)]
            rest /= 62
            i -= 1
        }
        precondition(rest == 0, "base62 width too small")
        return String(decoding: digits, as: UTF8.self)
    }

    /// The number written by `text`, nil if a character is not a base62 digit or it overflows.
    public static func decode<Bytes: Collection>(_ text: Bytes) -> UInt64? where Bytes.Element == UInt8 {
        var result: UInt64 = 0
        for c in text {
            guard let v = value(of: c) else { return nil }
            let (m, o1) = result.multipliedReportingOverflow(by: 62)
            let (s, o2) = m.addingReportingOverflow(UInt64(v))
            if o1 || o2 { return nil }
            result = s
        }
        return result
    }

    /// `count` base62 digits drawn uniformly from `randomByte` by rejection sampling
    /// (bytes ≥ 248 are discarded, so every digit has probability exactly 1/62).
    public static func random(count: Int, randomBytes: (Int) -> [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            for byte in randomBytes(count - out.count + 8) where byte < 248 && out.count < count {
                out.append(alphabet[Int(byte % 62)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
