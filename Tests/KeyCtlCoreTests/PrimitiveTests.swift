// The primitives under the key format, each against published vectors or an
// independent re-implementation written here from the spec's words.

import Testing

@testable import KeyCtlCore

@Suite struct PrimitiveTests {
    // MARK: SHA-256 (FIPS 180-4 / RFC 6234 test vectors)

    static func sha(_ s: String) -> String { Hex.encode(SHA256.hash(Array(s.utf8))) }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ])
    func sha256Vectors(input: String, digest: String) {
        #expect(Self.sha(input) == digest)
    }

    @Test func sha256MillionA() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(Hex.encode(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sha256PaddingBoundaries() {
        // 55, 56 and 64 bytes straddle the one-block / two-block padding edge; a split
        // update must agree with a one-shot hash.
        for n in [55, 56, 63, 64, 65, 119, 120, 128] {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var split = SHA256()
            split.update(bytes[..<(n / 3)])
            split.update(bytes[(n / 3)...])
            #expect(split.finalize() == SHA256.hash(bytes), "length \(n)")
        }
        #expect(SHA256.hash([UInt8](repeating: 0, count: 56)) != SHA256.hash([UInt8](repeating: 0, count: 55)))
    }

    /// Lengths around the padding edges (55/56: one block or two; 63/64/65: a whole block
    /// and a byte either side; 119/120, 127-129: the same a block on). The values are
    /// SHA-256 of n letters "a" as OpenSSL computes them (Python's hashlib), an independent
    /// implementation; 56 is also the two-block FIPS 180-2 vector above.
    @Test(arguments: [
        (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (1, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
        (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"),
        (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
        (120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
        (127, "c57e9278af78fa3cab38667bef4ce29d783787a2f731d4e12200270f0c32320a"),
        (128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"),
        (129, "c12cb024a2e5551cca0e08fce8f1c5e314555cc3fef6329ee994a3db752166ae"),
    ])
    func sha256BoundaryLengths(n: Int, digest: String) {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: n)
        // Every way in: one-shot contiguous, the allocation-free digest, the byte-at-a-time
        // path (a lazy map is not contiguous), a String's UTF-8, and split updates.
        #expect(Hex.encode(SHA256.hash(bytes)) == digest)
        #expect(Hex.encode(bytes.withUnsafeBytes { SHA256.digest($0) }.bytes) == digest)
        #expect(SHA256.Digest(hex: digest) == bytes.withUnsafeBytes { SHA256.digest($0) })
        #expect(Hex.encode(SHA256.hash(bytes.lazy.map { $0 })) == digest)
        #expect(Hex.encode(SHA256.hash(String(repeating: "a", count: n).utf8)) == digest)
        for cut in Set([0, 1, n / 3, n / 2, 55, 63, 64, 65, n - 1, n]) where cut >= 0 && cut <= n {
            var split = SHA256()
            split.update(bytes[..<cut])
            split.update(bytes[cut...].lazy.map { $0 })
            #expect(Hex.encode(split.finalize()) == digest, "length \(n), cut at \(cut)")
        }
    }

    @Test func sha256DigestIsTheHashAtEveryLength() {
        for n in 0...300 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let digest = bytes.withUnsafeBytes { SHA256.digest($0) }
            #expect(digest.bytes == SHA256.hash(bytes.lazy.map { $0 }), "length \(n)")
            #expect(SHA256.Digest(hex: Hex.encode(digest.bytes)) == digest)
        }
        #expect(SHA256.Digest(hex: "00") == nil)
        #expect(SHA256.Digest(hex: String(repeating: "A", count: 64)) == nil)
    }

    // MARK: CRC-32 (IEEE 802.3, as zlib)

    @Test(arguments: [
        ("123456789", UInt32(0xCBF4_3926)),
        ("", 0),
        ("a", 0xE8B7_BE43),
        ("abc", 0x3524_41C2),
        ("message digest", 0x2015_9D7F),
        ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
    ])
    func crc32Vectors(input: String, crc: UInt32) {
        #expect(CRC32.checksum(Array(input.utf8)) == crc)
    }

    // MARK: Base62

    @Test func base62Encode() {
        #expect(Base62.encode(0, width: 6) == "000000")
        #expect(Base62.encode(9, width: 1) == "9")
        #expect(Base62.encode(10, width: 1) == "A")
        #expect(Base62.encode(36, width: 1) == "a")
        #expect(Base62.encode(61, width: 1) == "z")
        #expect(Base62.encode(62, width: 2) == "10")
        #expect(Base62.encode(62, width: 4) == "0010")
        #expect(Base62.encode(0xFFFF_FFFF, width: 6) == "4gfFC3")
        #expect(Base62.encode(0xCBF4_3926, width: 6) == "3jZRME")
        #expect(String(decoding: Base62.alphabet, as: UTF8.self) == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    }

    @Test func base62Decode() {
        #expect(Base62.decode(Array("4gfFC3".utf8)) == 0xFFFF_FFFF)
        #expect(Base62.decode(Array("000000".utf8)) == 0)
        #expect(Base62.decode(Array("0010".utf8)) == 62)
        #expect(Base62.decode(Array("z".utf8)) == 61)
        #expect(Base62.decode(Array("ab-c".utf8)) == nil)
        #expect(Base62.decode(Array("ab_c".utf8)) == nil)
        #expect(Base62.decode(Array("zzzzzzzzzzzzzzzzzzzzzzzzz".utf8)) == nil, "overflow is nil, not a wrapped number")
        for v: UInt64 in [0, 1, 61, 62, 3843, 3844, 0x7FFF_FFFF, 0xFFFF_FFFF] {
            #expect(Base62.decode(Array(Base62.encode(v, width: 6).utf8)) == v)
        }
    }

    /// A random source that hands out `bytes` in order, cycling.
    final class Script {
        var bytes: [UInt8]
        var next = 0
        var requested = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        func take(_ n: Int) -> [UInt8] {
            requested += n
            return (0..<n).map { _ in
                defer { next = (next + 1) % bytes.count }
                return bytes[next]
            }
        }
    }

    @Test func base62RandomIsUniformOverOneCycle() {
        // Each byte 0...247 maps to digit byte % 62, four bytes per digit; 248...255 are rejected.
        let source = Script(Array(0...255))
        let text = Base62.random(count: 248 * 4, randomBytes: source.take)
        var counts: [Character: Int] = [:]
        for c in text { counts[c, default: 0] += 1 }
        #expect(counts.count == 62)
        #expect(counts.values.allSatisfy { $0 == 16 }, "\(counts)")
        #expect(source.requested >= 256 * 4 - 8, "rejected bytes were replaced by more bytes")
    }

    @Test func base62RandomRejectsHighBytes() {
        let source = Script([255, 248, 250, 0, 61, 62, 247, 123])
        let text = Base62.random(count: 5, randomBytes: source.take)
        // 0 → '0', 61 → 'z', 62 → '0', 247 → 247 % 62 = 61 → 'z', 123 → 61 → 'z'
        #expect(text == "0z0zz")
        let onlyHigh = Script([248, 249, 250, 251, 252, 253, 254, 255, 7])
        #expect(Base62.random(count: 3, randomBytes: onlyHigh.take) == "777")
    }

    // MARK: Constant-time equality, Hex, Base64

    @Test func constantTimeEquality() {
        let a: [UInt8] = Array("0123456789abcdef".utf8)
        #expect(constantTimeEqual(a, a))
        #expect(constantTimeEqual([UInt8](), [UInt8]()))
        #expect(!constantTimeEqual(a, Array("0123456789abcdeF".utf8)))
        #expect(!constantTimeEqual(a, Array("X123456789abcdef".utf8)))
        #expect(!constantTimeEqual(a, Array(a.dropLast())))
        #expect(!constantTimeEqual(Array(a.dropLast()), a))
        #expect(!constantTimeEqual(a, [UInt8]()))
        #expect(constantTimeEqual(a[2..<5], Array("234".utf8)))
    }

    @Test func hex() {
        #expect(Hex.encode([]) == "")
        #expect(Hex.encode([0x00, 0xff, 0x10, 0xab]) == "00ff10ab")
        #expect(Hex.decode(Array("00ff10ab".utf8)) == [0x00, 0xff, 0x10, 0xab])
        #expect(Hex.decode(Array("".utf8)) == [])
        #expect(Hex.decode(Array("0".utf8)) == nil)
        #expect(Hex.decode(Array("00FF".utf8)) == nil, "keyctl writes lowercase only")
        #expect(Hex.decode(Array("0g".utf8)) == nil)
    }

    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func base64RFC4648(input: String, encoded: String) {
        #expect(Base64.encode(Array(input.utf8)) == encoded)
    }

    @Test func base64HighBytes() {
        #expect(Base64.encode([0xfb, 0xff, 0xbf]) == "+/+/")
    }

    // MARK: Key generation, parsing, hint

    /// CRC-32 bit by bit, straight from the polynomial, and base62 by repeated division:
    /// an implementation independent of the one under test.
    static func referenceChecksum(_ head: String) -> String {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in head.utf8 {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        var n = UInt64(crc ^ 0xFFFF_FFFF)
        let digits = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var out: [Character] = []
        while n > 0 {
            out.insert(digits[Int(n % 62)], at: 0)
            n /= 62
        }
        while out.count < 6 { out.insert("0", at: 0) }
        return String(out)
    }

    static func isBase62(_ s: Substring) -> Bool {
        s.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("A"..."Z").contains($0) || ("a"..."z").contains($0) }
    }

    @Test func generatedKeyShapeAndChecksum() {
        let source = Script((0..<200).map { UInt8(($0 * 37 + 11) % 256) })
        let key = APIKey.generate(prefix: "ak", environment: .live, randomBytes: source.take)
        let text = key.text
        #expect(text.hasPrefix("ak_live_"))
        let body = text.dropFirst("ak_live_".count)
        #expect(body.count == 32 + 6)
        #expect(Self.isBase62(body))
        let head = String(text.dropLast(6))
        #expect(String(text.suffix(6)) == Self.referenceChecksum(head))
        #expect(key.prefix == "ak")
        #expect(key.environment == .live)
        #expect(key.digest == Self.sha(text))
    }

    @Test func knownAnswerKeys() {
        // Worked out independently (Python zlib.crc32 and base62 by hand).
        let zeros = APIKey.generate(prefix: "ak", environment: .live, randomBytes: { [UInt8](repeating: 0, count: $0) })
        #expect(zeros.text == "ak_live_00000000000000000000000000000000" + "4YzvZp")
        let zs = APIKey.generate(prefix: "xy", environment: .test, randomBytes: { [UInt8](repeating: 61, count: $0) })
        #expect(zs.text == "xy_test_" + String(repeating: "z", count: 32) + "2dtxKO")
    }

    @Test func keysCarryAtLeast128BitsAndDiffer() {
        #expect(Double(APIKey.randomLength) * Self.log2of62 >= 128)
        #expect(Double(APIKey.minimumRandomLength) * Self.log2of62 >= 128)
        var rng = SystemRandomNumberGenerator()
        let system: (Int) -> [UInt8] = { n in (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        let a = APIKey.generate(prefix: "ak", environment: .test, randomBytes: system)
        let b = APIKey.generate(prefix: "ak", environment: .test, randomBytes: system)
        #expect(a.text != b.text)
        #expect(a.text.hasPrefix("ak_test_"))
    }

    static let log2of62 = 5.954196310386876

    @Test func parseAcceptsGeneratedKeys() throws {
        for (prefix, env) in [("ak", KeyEnvironment.live), ("xy", .test), ("a1b2c3d4e5", .live)] {
            let key = APIKey.generate(prefix: prefix, environment: env, randomBytes: { (0..<$0).map { UInt8($0 % 200) } })
            let parsed = try APIKey.parse(key.text).get()
            #expect(parsed.prefix == prefix)
            #expect(parsed.environment == env)
            #expect(parsed.text == key.text)
        }
        // The spec's example has 33 body characters: fewer random digits, still ≥ 128 bits.
        let head = "ak_live_" + String(repeating: "Q", count: 22)
        #expect((try? APIKey.parse(head + Self.referenceChecksum(head)).get()) != nil)
    }

    static let valid = "ak_live_00000000000000000000000000000000" + "4YzvZp"

    @Test(arguments: [
        "",
        "ak",
        "ak_live",
        "ak_live_",
        "ak_live_4YzvZp",  // checksum only
        "AK_live_00000000000000000000000000000000" + "4YzvZp",  // uppercase prefix
        "a_live_00000000000000000000000000000000" + "4YzvZp",  // prefix too short
        "abcdefghijk_live_00000000000000000000000000000000" + "4YzvZp",  // prefix too long
        "ak_prod_00000000000000000000000000000000" + "4YzvZp",  // unknown environment
        "ak_live_0000000000000000000000000000000-" + "4YzvZp",  // not base62
        "ak_live_0000000000000000000000000000000_" + "4YzvZp",
        "ak-live-00000000000000000000000000000000" + "4YzvZp",
        "ak_live_000000000000000" + "4YzvZp",  // too few random digits
        " ak_live_00000000000000000000000000000000" + "4YzvZp",
        "ak_live_00000000000000000000000000000000" + "4YzvZp\n",
        "ak_live_0000000000000000000000000000000\u{2026}" + "4YzvZp",
    ])
    func parseRejectsMalformed(text: String) {
        #expect(APIKey.parse(text).failure == .malformed, "\(text.debugDescription)")
    }

    @Test func parseCatchesEveryOneCharacterTypo() {
        #expect((try? APIKey.parse(Self.valid).get()) != nil)
        let chars = Array(Self.valid)
        let bodyStart = "ak_live_".count
        for i in bodyStart..<chars.count {
            var typo = chars
            typo[i] = chars[i] == "7" ? "8" : "7"
            #expect(APIKey.parse(String(typo)).failure == .badChecksum, "typo at \(i)")
        }
        var swapped = chars
        swapped.swapAt(bodyStart + 1, chars.count - 1)
        #expect(APIKey.parse(String(swapped)).failure == .badChecksum)
        // Case matters in base62.
        #expect(APIKey.parse(Self.valid.replacingLast("p", with: "P")).failure == .badChecksum)
    }

    @Test func hint() throws {
        let key = try APIKey.parse(Self.valid).get()
        #expect(key.hint == "ak_live_\u{2026}zvZp")
        let test = APIKey.generate(prefix: "xy", environment: .test, randomBytes: { [UInt8](repeating: 61, count: $0) })
        #expect(test.hint == "xy_test_\u{2026}txKO")
        #expect(!test.hint.contains(String(test.text.dropFirst(8).prefix(4))), "the hint holds only the last four characters")
    }

    @Test func formats() throws {
        let key = try APIKey.parse(Self.valid).get()
        #expect(key.formatted(.raw) == Self.valid)
        #expect(key.formatted(.bearer) == "Authorization: Bearer " + Self.valid)
        #expect(key.formatted(.xAPIKey) == "x-api-key: " + Self.valid)
        #expect(key.formatted(.env) == "KEYCTL_API_KEY=" + Self.valid)
        #expect(key.formatted(.basic) == "Authorization: Basic " + Base64.encode(Array(Self.valid.utf8)))
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}

extension String {
    fileprivate func replacingLast(_ old: Character, with new: Character) -> String {
        guard let i = lastIndex(of: old) else { return self }
        var copy = self
        copy.replaceSubrange(i...i, with: String(new))
        return copy
    }
}
