// SHA-256 (FIPS 180-4). keyctl stores only this digest of a key; it is checked
// against the NIST / RFC 6234 vectors in the tests.

public struct SHA256 {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    private static let initial: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
    )

    private var state = SHA256.initial
    /// The bytes of an unfinished block (fewer than 64).
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    public init() { buffer.reserveCapacity(64) }

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        // Contiguous bytes (arrays, slices, native strings' UTF-8) are hashed in place,
        // whole blocks straight from memory; only the rest goes byte by byte.
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done != nil { return }
        for byte in bytes {
            buffer.append(byte)
            length &+= 1
            if buffer.count == 64 { compressBuffer() }
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var rest = bytes.count
        length &+= UInt64(rest)
        if !buffer.isEmpty {
            let taken = min(64 - buffer.count, rest)
            buffer.append(contentsOf: UnsafeRawBufferPointer(start: p, count: taken))
            p += taken
            rest -= taken
            guard buffer.count == 64 else { return }
            compressBuffer()
        }
        while rest >= 64 {
            compress(p)
            p += 64
            rest -= 64
        }
        if rest > 0 { buffer.append(contentsOf: UnsafeRawBufferPointer(start: p, count: rest)) }
    }

    /// Compresses the full block in `buffer` and empties it.
    private mutating func compressBuffer() {
        let block = buffer
        block.withUnsafeBytes { compress($0.baseAddress!) }
        buffer.removeAll(keepingCapacity: true)
    }

    public mutating func finalize() -> [UInt8] {
        let tail = buffer
        return tail.withUnsafeBytes { finish($0) }.bytes
    }

    /// Pads the last bytes (`tail`, fewer than 64) and compresses them: one block, or two
    /// when fewer than 9 bytes are left for the 0x80 and the length.
    private mutating func finish(_ tail: UnsafeRawBufferPointer) -> Digest {
        let bitLength = length &* 8
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { last in
            let blocks = tail.count < 56 ? 1 : 2
            last.initialize(repeating: 0)
            let padded = UnsafeMutableRawBufferPointer(last)
            if tail.count > 0 { padded.baseAddress!.copyMemory(from: tail.baseAddress!, byteCount: tail.count) }
            padded[tail.count] = 0x80
            padded.storeBytes(of: bitLength.bigEndian, toByteOffset: blocks * 64 - 8, as: UInt64.self)
            compress(padded.baseAddress!)
            if blocks == 2 { compress(padded.baseAddress! + 64) }
        }
        let s = state
        return Digest(
            UInt64(s.0) << 32 | UInt64(s.1), UInt64(s.2) << 32 | UInt64(s.3), UInt64(s.4) << 32 | UInt64(s.5),
            UInt64(s.6) << 32 | UInt64(s.7))
    }

    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of contiguous bytes, with no allocation at all: `verify --batch`'s per-line hash.
    public static func digest(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256(unbuffered: ())
        var p = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        var rest = bytes.count
        hasher.length = UInt64(rest)
        while rest >= 64 {
            hasher.compress(p)
            p += 64
            rest -= 64
        }
        return hasher.finish(UnsafeRawBufferPointer(start: rest > 0 ? p : nil, count: rest))
    }

    /// A hasher without a block buffer, for `digest` (whole input at once).
    private init(unbuffered: Void) {}

    /// A SHA-256 digest as four 64-bit words (big-endian order of its bytes): hashable and
    /// comparable without an allocation.
    public struct Digest: Hashable, Sendable {
        public let words: (UInt64, UInt64, UInt64, UInt64)

        init(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) { words = (a, b, c, d) }

        /// From 64 lowercase hex digits, as the keystore stores a digest; nil for anything else.
        public init?(hex: String) {
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            var count = 0
            let complete: Bool = withUnsafeMutableBytes(of: &words) { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for c in hex.utf8 {
                    guard count < 64, let v = Hex.lowercaseValue(of: c) else { return false }
                    words[count / 16] = words[count / 16] << 4 | UInt64(v)
                    count += 1
                }
                return count == 64
            }
            guard complete else { return nil }
            self.words = words
        }

        public var bytes: [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(32)
            for word in [words.0, words.1, words.2, words.3] {
                for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
            }
            return out
        }

        public static func == (a: Digest, b: Digest) -> Bool {
            a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
        }

        /// One word is enough: a digest's bits are already uniform (the table's keys come
        /// from the keystore, and nobody chooses a key's digest).
        public func hash(into hasher: inout Hasher) { hasher.combine(words.0) }
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x &>> n) | (x &<< (32 - n)) }

    /// One 64-byte block at `block`.
    private mutating func compress(_ block: UnsafeRawPointer) {
        // The message schedule on the stack: a heap array per block was most of a short hash's cost.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            SHA256.k.withUnsafeBufferPointer { k in compress(block, schedule: w, constants: k) }
        }
    }

    @inline(__always)
    private mutating func compress(
        _ block: UnsafeRawPointer, schedule w: UnsafeMutableBufferPointer<UInt32>, constants k: UnsafeBufferPointer<UInt32>
    ) {
        for i in 0..<16 {
            w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
        }
        for i in 16..<64 {
            let s0 = SHA256.rotr(w[i - 15], 7) ^ SHA256.rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = SHA256.rotr(w[i - 2], 17) ^ SHA256.rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, h) = state
        for i in 0..<64 {
            let s1 = SHA256.rotr(e, 6) ^ SHA256.rotr(e, 11) ^ SHA256.rotr(e, 25)
            let ch = g ^ (e & (f ^ g))  // (e & f) ^ (~e & g)
            let t1 = h &+ s1 &+ ch &+ k[i] &+ w[i]
            let s0 = SHA256.rotr(a, 2) ^ SHA256.rotr(a, 13) ^ SHA256.rotr(a, 22)
            let maj = (a & b) | (c & (a | b))  // (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ maj
            h = g; g = f; f = e; e = d &+ t1
            d = c; c = b; b = a; a = t1 &+ t2
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
    }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether every byte is a lowercase hex digit (no allocation: the keystore reader's check).
    public static func isLowercase(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in text where !((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) { return false }
        return true
    }

    /// The value of one lowercase hex digit; nil for anything else.
    @inline(__always) static func lowercaseValue(of c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    /// Lowercase hex only, as keyctl writes it; nil for anything else.
    public static func decode<Bytes: Collection>(_ text: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var high: UInt8 = 0
        var isHigh = true
        for c in text {
            guard let v = lowercaseValue(of: c) else { return nil }
            if isHigh { high = v } else { out.append(high << 4 | v) }
            isHigh.toggle()
        }
        return out
    }
}

/// Equality whose running time depends only on the lengths, never on where the inputs differ.
public func constantTimeEqual<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
where A.Element == UInt8, B.Element == UInt8 {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
