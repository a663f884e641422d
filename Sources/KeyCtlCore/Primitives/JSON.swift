// A pull reader and a writer for the JSON keyctl stores and prints. The reader is
// driven by the schema (KeystoreCodec), so it never builds a tree, never recurses
// on input (deep nesting fails at the first unexpected bracket), and reports the
// byte offset of every fault so the message can name a line and column. Strings
// are validated as it goes (escapes, control characters, UTF-8) and handed back as
// byte ranges; only the fields a caller needs become Swift Strings.

public struct JSONSyntaxError: Error, Equatable {
    public var offset: Int
    public var message: String
}

public struct JSONStringToken {
    public var range: Range<Int>
    public var hasEscapes: Bool
}

public struct JSONReader {
    public let bytes: UnsafeBufferPointer<UInt8>
    public private(set) var position: Int = 0

    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Moves to `offset`, which a caller has read past by other means.
    mutating func seek(to offset: Int) { position = offset }

    func fail(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? position, message: message)
    }

    @inline(__always) mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0a, 0x0d, 0x09: position += 1
            default: return
            }
        }
    }

    /// The next significant byte, without consuming it; nil at the end.
    @inline(__always) public mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    func describe(_ c: UInt8?) -> String {
        guard let c else { return "end of file" }
        if c >= 0x21 && c < 0x7f { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x\(String(c, radix: 16))"
    }

    public mutating func expect(_ c: UInt8, _ what: String) throws(JSONSyntaxError) {
        let next = peek()
        guard next == c else { throw fail("expected \(what), found \(describe(next))") }
        position += 1
    }

    /// Call with `first = true` after reading `{`; returns false at `}`.
    public mutating func nextMember(_ first: inout Bool) throws(JSONSyntaxError) -> Bool {
        let next = peek()
        if next == UInt8(ascii: "}") {
            position += 1
            return false
        }
        if !first {
            guard next == UInt8(ascii: ",") else { throw fail("expected ',' or '}', found \(describe(next))") }
            position += 1
            guard peek() == UInt8(ascii: "\"") else { throw fail("expected a field name after ',', found \(describe(peek()))") }
        }
        first = false
        return true
    }

    /// Call with `first = true` after reading `[`; returns false at `]`.
    public mutating func nextElement(_ first: inout Bool) throws(JSONSyntaxError) -> Bool {
        let next = peek()
        if next == UInt8(ascii: "]") {
            position += 1
            return false
        }
        if !first {
            guard next == UInt8(ascii: ",") else { throw fail("expected ',' or ']', found \(describe(next))") }
            position += 1
            guard let after = peek(), after != UInt8(ascii: "]") else { throw fail("expected a value after ',', found \(describe(peek()))") }
        }
        first = false
        return true
    }

    /// Reads `"name":` and returns the name.
    public mutating func key() throws(JSONSyntaxError) -> JSONStringToken {
        let token = try string()
        try expect(UInt8(ascii: ":"), "':' after a field name")
        return token
    }

    /// Consumes `null` if it is next.
    public mutating func null() -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        guard position + 4 <= bytes.count, bytes[position + 1] == UInt8(ascii: "u"), bytes[position + 2] == UInt8(ascii: "l"),
            bytes[position + 3] == UInt8(ascii: "l")
        else { return false }
        position += 4
        return true
    }

    /// A non-negative integer without sign, fraction or exponent.
    public mutating func integer() throws(JSONSyntaxError) -> Int64 {
        let start = position
        guard let c = peek(), c >= 48 && c <= 57 else { throw fail("expected a whole number, found \(describe(peek()))") }
        var value: Int64 = 0
        while position < bytes.count, bytes[position] >= 48 && bytes[position] <= 57 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(bytes[position] - 48))
            guard !o1 && !o2 else { throw fail("number too large", at: start) }
            value = s
            position += 1
        }
        if bytes[start] == 48 && position - start > 1 { throw fail("leading zero in a number", at: start) }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            throw fail("expected a whole number", at: start)
        }
        return value
    }

    /// Reads a string, checking escapes, control characters and UTF-8.
    public mutating func string() throws(JSONSyntaxError) -> JSONStringToken {
        guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string, found \(describe(peek()))") }
        position += 1
        let start = position
        var escapes = false
        let count = bytes.count
        while true {
            // Fast path: printable ASCII that is neither a quote nor a backslash.
            while position < count {
                let c = bytes[position]
                if c < 0x20 || c == 0x22 || c == 0x5c || c >= 0x80 { break }
                position += 1
            }
            guard position < count else { throw fail("unterminated string", at: start - 1) }
            let c = bytes[position]
            switch c {
            case 0x22:
                let range = start..<position
                position += 1
                return JSONStringToken(range: range, hasEscapes: escapes)
            case 0x5c:
                escapes = true
                try escape()
            case 0..<0x20:
                throw fail("control character in a string")
            default:
                try utf8Sequence()
            }
        }
    }

    private mutating func escape() throws(JSONSyntaxError) {
        let at = position
        guard position + 1 < bytes.count else { throw fail("unterminated string") }
        let c = bytes[position + 1]
        switch c {
        case 0x22, 0x5c, 0x2f, UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            let unit = try hex4(at: position + 2)
            position += 6
            if unit >= 0xD800 && unit < 0xDC00 {
                guard position + 1 < bytes.count, bytes[position] == 0x5c, bytes[position + 1] == UInt8(ascii: "u") else {
                    throw fail("unpaired surrogate in \\u escape", at: at)
                }
                let low = try hex4(at: position + 2)
                guard low >= 0xDC00 && low < 0xE000 else { throw fail("unpaired surrogate in \\u escape", at: at) }
                position += 6
            } else if unit >= 0xDC00 && unit < 0xE000 {
                throw fail("unpaired surrogate in \\u escape", at: at)
            }
        default:
            throw fail("invalid escape '\\\(Character(Unicode.Scalar(c)))'")
        }
    }

    private func hex4(at offset: Int) throws(JSONSyntaxError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw fail("truncated \\u escape", at: offset) }
        var v: UInt32 = 0
        for i in offset..<offset + 4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw fail("invalid \\u escape", at: offset - 2)
            }
            v = v << 4 | d
        }
        return v
    }

    /// One well-formed UTF-8 sequence (no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func utf8Sequence() throws(JSONSyntaxError) {
        let c0 = bytes[position]
        let need: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch c0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: throw fail("invalid UTF-8")
        }
        guard position + need < bytes.count else { throw fail("invalid UTF-8") }
        let c1 = bytes[position + 1]
        guard c1 >= lo && c1 <= hi else { throw fail("invalid UTF-8") }
        for i in 2...max(2, need) where i <= need {
            let c = bytes[position + i]
            guard c >= 0x80 && c <= 0xBF else { throw fail("invalid UTF-8") }
        }
        position += need + 1
    }

    /// The text of a string token, escapes resolved.
    public func text(_ token: JSONStringToken) -> String {
        let slice = UnsafeBufferPointer(rebasing: bytes[token.range])
        if !token.hasEscapes { return String(decoding: slice, as: UTF8.self) }
        return String(decoding: unescaped(token), as: UTF8.self)
    }

    /// The bytes of a string token, escapes resolved (the token was validated when read).
    public func unescaped(_ token: JSONStringToken) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.range.count)
        var i = token.range.lowerBound
        let end = token.range.upperBound
        func hex(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for j in at..<at + 4 {
                let c = bytes[j]
                v = v << 4 | UInt32(c <= 57 ? c - 48 : (c | 0x20) - 87)
            }
            return v
        }
        while i < end {
            let c = bytes[i]
            guard c == 0x5c else {
                out.append(c)
                i += 1
                continue
            }
            let e = bytes[i + 1]
            switch e {
            case UInt8(ascii: "b"): out.append(0x08); i += 2
            case UInt8(ascii: "f"): out.append(0x0c); i += 2
            case UInt8(ascii: "n"): out.append(0x0a); i += 2
            case UInt8(ascii: "r"): out.append(0x0d); i += 2
            case UInt8(ascii: "t"): out.append(0x09); i += 2
            case UInt8(ascii: "u"):
                var scalar = hex(i + 2)
                i += 6
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex(i + 2) - 0xDC00)
                    i += 6
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default: out.append(e); i += 2
            }
        }
        return out
    }

    /// Compares a string token's text with `literal`.
    @inline(__always) public func equals(_ token: JSONStringToken, _ literal: StaticString) -> Bool {
        if token.hasEscapes { return unescaped(token).elementsEqual(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)) }
        guard token.range.count == literal.utf8CodeUnitCount else { return false }
        return memcmpEqual(bytes.baseAddress! + token.range.lowerBound, literal.utf8Start, token.range.count)
    }

    /// After the top-level value: only whitespace may follow.
    public mutating func end() throws(JSONSyntaxError) {
        if let c = peek() { throw fail("unexpected \(describe(c)) after the end of the keystore") }
    }

    /// 1-based line and column of a byte offset.
    public static func lineAndColumn(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        let end = min(offset, bytes.count)
        var i = 0
        while i < end {
            if bytes[i] == 0x0a {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
        // Column counts characters, not bytes: UTF-8 continuation bytes are skipped.
        let column = 1 + (lineStart..<end).reduce(0) { $0 + (bytes[$1] & 0xC0 != 0x80 ? 1 : 0) }
        return (line, column)
    }
}

@inline(__always) func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    for i in 0..<count where a[i] != b[i] { return false }
    return true
}

/// Appends JSON text to a byte buffer.
public struct JSONWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    @inline(__always) public mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { text in
            bytes.append(0x22)
            // Copy runs that need no escaping in one go.
            var run = 0
            for i in 0..<text.count {
                let c = text[i]
                guard c < 0x20 || c == 0x22 || c == 0x5c || c == 0x7f else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[run..<i]))
                switch c {
                case 0x22: raw("\\\"")
                case 0x5c: raw("\\\\")
                case 0x0a: raw("\\n")
                case 0x0d: raw("\\r")
                case 0x09: raw("\\t")
                default:
                    raw("\\u00")
                    bytes.append(Hex.digit(c >> 4))
                    bytes.append(Hex.digit(c & 0xf))
                }
                run = i + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[run...]))
            bytes.append(0x22)
        }
    }

    public mutating func string(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    public mutating func time(_ t: Timestamp?) {
        guard let t else { return raw("null") }
        bytes.append(0x22)
        RFC3339.append(t, to: &bytes)
        bytes.append(0x22)
    }

    public mutating func integer(_ v: Int) {
        bytes.append(contentsOf: Array(String(v).utf8))
    }

    public mutating func strings(_ values: [String]) {
        bytes.append(0x5b)
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(0x2c) }
            string(v)
        }
        bytes.append(0x5d)
    }

    /// `"name":` with a leading comma unless it is the first member.
    @inline(__always) public mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(0x2c) }
        bytes.append(0x22)
        raw(name)
        raw("\":")
    }
}

extension Hex {
    @inline(__always) static func digit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }
}
