// What a client presents to `verify`: the key itself, or any form `create --format`
// prints, so a server can pass a header on as it arrived:
//
//   KEY                                     raw
//   Bearer KEY        Authorization: Bearer KEY
//   Basic B64         Authorization: Basic B64    B64 = Base64 of KEY, KEY: or :KEY
//   x-api-key: KEY                          header
//   KEYCTL_API_KEY=KEY                      env
//
// Header names and schemes are case-insensitive (HTTP's rule); spaces or tabs may
// follow a header's colon; one or more separate a scheme from its credentials. Base64
// is the standard alphabet with its padding. Basic credentials are user:password, so a
// client that puts the key in either half (KEY:, :KEY) is understood. Anything else,
// including any other text with a space in it, is passed on whole and is malformed.
// man/keyctl-keystore.5 documents the same rules for verifiers in other languages.

public enum PresentedKey {
    /// The key text inside `presented` (already trimmed), or nil when it has the shape of
    /// a form but the form is broken (Basic credentials that are not Base64).
    public static func unwrap(_ presented: String) -> String? {
        let bytes = Array(presented.utf8)
        return unwrap(bytes: bytes[...]).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `unwrap` on bytes, the one implementation: the key's bytes (a piece of `bytes`, or
    /// of the decoded Basic credentials), or nil for a broken form.
    public static func unwrap(bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var rest = bytes
        if consume("KEYCTL_API_KEY=", from: &rest, caseSensitive: true) { return rest }
        if consume("x-api-key:", from: &rest) {
            skipBlanks(&rest)
            return rest
        }
        var header = false
        if consume("authorization:", from: &rest) {
            skipBlanks(&rest)
            header = true
        }
        if consumeScheme("bearer", from: &rest) { return rest }
        if consumeScheme("basic", from: &rest) {
            guard let decoded = Base64.decode(rest) else { return nil }
            var credentials = decoded[...]
            if credentials.first == UInt8(ascii: ":") {
                credentials = credentials.dropFirst()
            } else if credentials.last == UInt8(ascii: ":") {
                credentials = credentials.dropLast()
            }
            return credentials
        }
        // "Authorization: something-else" names no scheme keyctl reads.
        return header ? nil : bytes
    }

    /// Drops `word` from the front of `rest` if it is there (ASCII case-insensitively unless told).
    static func consume(_ word: StaticString, from rest: inout ArraySlice<UInt8>, caseSensitive: Bool = false) -> Bool {
        let count = word.utf8CodeUnitCount
        guard rest.count >= count else { return false }
        let start = rest.startIndex
        let matches = word.withUTF8Buffer { w in
            for i in 0..<count {
                let a = w[i]
                let b = rest[start + i]
                if caseSensitive ? a != b : lower(a) != lower(b) { return false }
            }
            return true
        }
        if matches { rest = rest[(start + count)...] }
        return matches
    }
    /// A scheme name followed by at least one space or tab, all dropped.
    static func consumeScheme(_ scheme: StaticString, from rest: inout ArraySlice<UInt8>) -> Bool {
        var probe = rest
        guard consume(scheme, from: &probe), let next = probe.first, isBlank(next) else { return false }
        skipBlanks(&probe)
        rest = probe
        return true
    }

    static func skipBlanks(_ rest: inout ArraySlice<UInt8>) {
        while let c = rest.first, isBlank(c) { rest = rest.dropFirst() }
    }

    @inline(__always) static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
}

extension Base64 {
    /// Strict decoding: the standard alphabet, length a multiple of four, padding only
    /// at the end; nil for anything else.
    public static func decode<Bytes: Collection>(_ text: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
        let chars = Array(text)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            var n: UInt32 = 0
            var pad = 0
            for j in 0..<4 {
                let c = chars[i + j]
                let v: UInt32
                if c == UInt8(ascii: "=") {
                    // Padding: only in the last group, only in its last two places, only at the end.
                    guard i + 4 == chars.count, j >= 2 else { return nil }
                    pad += 1
                    v = 0
                } else {
                    guard pad == 0, let value = sextet(c) else { return nil }
                    v = value
                }
                n = n << 6 | v
            }
            out.append(UInt8(n >> 16 & 0xff))
            if pad < 2 { out.append(UInt8(n >> 8 & 0xff)) }
            if pad < 1 { out.append(UInt8(n & 0xff)) }
            i += 4
        }
        return out
    }

    static func sextet(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - 65)
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - 97 + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - 48 + 52)
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
