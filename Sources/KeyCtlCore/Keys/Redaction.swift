// No secret in any message. Usage errors quote the offending word, and a person
// who pastes a key into the wrong place would see it echoed to a terminal, a CI
// log or a file. Every message keyctl prints passes through here first: any run
// shaped like a key (PREFIX_live_ or PREFIX_test_ followed by 16 or more base62
// digits, checksum or not: a mistyped key is still a secret) is shown as its hint,
// `ak_live_…Qx9Q`.

enum Redaction {
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
