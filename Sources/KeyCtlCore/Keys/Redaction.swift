// The one choke point for text that came from outside (arguments, paths, names and
// hints from a hand-edited keystore, environment values) on its way to a person:
// every error message, every notice, every `verify` answer and every name cell of
// `list` and `show` passes through `Redaction.shown`. It keeps two promises:
//
// - No secret. A person who pastes a key into the wrong place would see it echoed to
//   a terminal, a CI log or a file. A run shaped like a key (PREFIX_live_ or
//   PREFIX_test_ followed by 16 or more base62 digits, checksum or not: a mistyped key
//   is still a secret) is shown as its hint, `ak_live_…Qx9Q`; any other run of 24 or
//   more base62 characters (a key's body alone, a key with its first character lost,
//   with dashes for underscores) is shown as `…` and its last four (keyctl(1) KEY FORMAT).
// - One line that cannot drive the terminal. Control characters (C0, DEL, C1), line
//   and paragraph separators, and invisible or direction-changing characters (Unicode
//   format characters such as U+200B and U+202E, and other default-ignorable code
//   points) are escaped as `\n`, `\x1b`, `\u{202E}` (keyctl(1) Output).
//
// Text keyctl computes itself (ids, hints, times) has none of these, so passing a whole
// message through here changes only the outside parts of it.

enum Redaction {
    /// `text` as it may be shown to a person: secrets redacted, invisible and control
    /// characters escaped.
    static func shown(_ text: String) -> String {
        escapingInvisibles(in: redactingRuns(in: redactingKeys(in: text)))
    }

    /// The shortest run of base62 characters that is treated as a piece of a secret.
    static let secretRunLength = 24

    /// Whether `text` holds anything `shown` would redact: a name or description with
    /// it is refused, because names are stored and listed in clear.
    static func looksSecret(_ text: String) -> Bool {
        redactingRuns(in: redactingKeys(in: text)) != text
    }

    /// Whether a person could not see, or would see misplaced, this character.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        let p = scalar.properties
        switch p.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        // Variation selectors are default-ignorable but shape the character before them (❤️).
        case .nonspacingMark: return false
        default: return p.isDefaultIgnorableCodePoint
        }
    }

    static func escapingInvisibles(in text: String) -> String {
        guard text.unicodeScalars.contains(where: isInvisible) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            guard isInvisible(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(scalar.value, radix: 16, uppercase: scalar.value > 0xFF)
                out += scalar.value <= 0xFF ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex : "\\u{\(hex)}"
            }
        }
        return out
    }

    /// Every run of `secretRunLength` or more base62 characters becomes `…` and its last four.
    static func redactingRuns(in text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var changed = false
        var i = 0
        while i < bytes.count {
            var end = i
            while end < bytes.count, Base62.value(of: bytes[end]) != nil { end += 1 }
            if end - i >= secretRunLength {
                out.append(contentsOf: Array("\u{2026}".utf8))
                out.append(contentsOf: bytes[(end - 4)..<end])
                changed = true
                i = end
            } else if end > i {
                out.append(contentsOf: bytes[i..<end])
                i = end
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    static func redactingKeys(in text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        var changed = false
        while i < bytes.count {
            if let end = keyBodyEnd(in: bytes, at: i) {
                // `out` already holds `prefix_env_`; the body becomes "…" and its last four.
                let body = bytes[i..<end]
                out.append(contentsOf: Array("\u{2026}".utf8))
                out.append(contentsOf: body.suffix(4))
                changed = true
                i = end
                continue
            }
            out.append(bytes[i])
            i += 1
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    /// If `bytes[i...]` is the body of a key (preceded by `prefix_env_`), where it ends.
    static func keyBodyEnd(in bytes: [UInt8], at i: Int) -> Int? {
        // The body starts right after "_live_" or "_test_".
        guard i >= 6, bytes[i - 1] == UInt8(ascii: "_") else { return nil }
        let env = bytes[(i - 5)..<(i - 1)]
        guard bytes[i - 6] == UInt8(ascii: "_"), env.elementsEqual("live".utf8) || env.elementsEqual("test".utf8) else { return nil }
        var start = i - 6
        while start > 0, start > i - 17, isPrefixByte(bytes[start - 1]) { start -= 1 }
        guard i - 6 - start >= 2 else { return nil }
        var end = i
        while end < bytes.count, Base62.value(of: bytes[end]) != nil { end += 1 }
        guard end - i >= 16 else { return nil }
        return end
    }

    static func isPrefixByte(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
}
