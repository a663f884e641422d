// Issue 8 items 3, 4 and 5: text that came from outside reaches a person only through
// Redaction.shown (secrets redacted, control and invisible characters escaped, one
// line), and names keep the character rules of keyctl(1) Rules.

import Foundation
import Testing

@testable import KeyCtlCore

/// A real key (its checksum holds) for the tests to paste in the wrong places.
let pastedKey = APIKey.generate(prefix: "ak", environment: .live, randomBytes: { Array(repeating: 7, count: $0) }).text

@Suite struct OutsideTextTests {
    @Test(arguments: [
        ("\u{1B}]0;x\u{7}\u{1B}[2J", "\\x1b]0;x\\x07\\x1b[2J"),
        ("x\nkeyctl: revoked key_AAAA (prod)", "x\\nkeyctl: revoked key_AAAA (prod)"),
        ("a\u{200B}b", "a\\u{200B}b"),
        ("abc\u{202E}fed", "abc\\u{202E}fed"),
        ("tab\there\r", "tab\\there\\r"),
        ("c1\u{85}\u{9B}", "c1\\x85\\x9b"),
        ("line\u{2028}sep", "line\\u{2028}sep"),
        ("naïve ☃ 東京 ❤️ e\u{301}", "naïve ☃ 東京 ❤️ e\u{301}"),
    ])
    func escapesControlAndInvisibleCharacters(text: String, shown: String) {
        #expect(Redaction.shown(text) == shown)
        #expect(!Redaction.shown(text).contains("\n"))
    }

    @Test func redactsEveryPieceOfAKey() {
        let body = String(pastedKey.dropFirst("ak_live_".count))
        let last4 = String(pastedKey.suffix(4))
        for piece in [pastedKey, body, String(pastedKey.dropFirst()), pastedKey.replacingOccurrences(of: "_", with: "-"), "x\(body)y"] {
            let shown = Redaction.shown("no key '\(piece)'")
            #expect(!shown.contains(String(body.prefix(12))), "\(shown)")
            #expect(shown.contains("\u{2026}"), "\(shown)")
        }
        #expect(Redaction.shown(pastedKey) == "ak_live_\u{2026}\(last4)")
        // 23 base62 characters in a row are not a secret; 24 are.
        #expect(Redaction.shown(String(repeating: "a", count: 23)) == String(repeating: "a", count: 23))
        #expect(Redaction.shown(String(repeating: "a", count: 24)) == "\u{2026}aaaa")
        // Ids (16 base62 after key_) and words are left alone.
        #expect(Redaction.shown("key_0123456789abcdef (deploy-bot)") == "key_0123456789abcdef (deploy-bot)")
    }

    /// A name that is, or holds, a piece of a key is refused, and the key is not echoed.
    @Test func secretShapedNamesAreRefused() throws {
        let world = World()
        try world.create("ok")
        let body = String(pastedKey.dropFirst("ak_live_".count))
        for name in [pastedKey, body, String(pastedKey.dropFirst()), pastedKey.replacingOccurrences(of: "_", with: "-"), "prefix-" + body] {
            let (line, message) = world.expectFailure(["create", name], .usage)
            #expect(line.contains("shaped like an API key"), "\(line)")
            #expect(!line.contains(String(body.prefix(12))) && !message.contains(String(body.prefix(12))), "echoed: \(line)")
        }
    }

    @Test(arguments: [
        ("a\u{200B}", "invisible"), ("\u{202E}abc", "invisible"), ("\u{FEFF}x", "invisible"), ("x\u{2060}", "invisible"),
        ("\u{3164}", "invisible"), ("a\u{2028}b", "invisible"), ("   ", "only spaces"), ("\u{A0}\u{3000}", "only spaces"),
        ("", "empty"), ("a\u{7}", "control"), (String(repeating: "n", count: 101), "at most 100"),
    ])
    func nameRules(name: String, reason: String) throws {
        let world = World()
        try world.create("ok")
        let (line, _) = world.expectFailure(["create", name], .usage)
        #expect(line.contains(reason), "\(line)")
        #expect(line.filter { $0 == "\n" }.count == 1)
        #expect(!line.unicodeScalars.contains { $0.properties.generalCategory == .format || ($0.value < 0x20 && $0 != "\n") })
    }

    @Test func namesPeopleUseAreAccepted() throws {
        let world = World()
        for name in ["deploy bot", "東京", "café", "❤️ heart", "👍🏽", " padded "] { try world.create(name) }
        #expect(Names.problem(with: "", field: "description", maxLength: 500, allowEmpty: true) == nil)
        #expect(Names.problem(with: String(repeating: "d", count: 501), field: "description", maxLength: 500, allowEmpty: true) != nil)
        #expect(Names.problem(with: "x\u{200B}", field: "description", maxLength: 500, allowEmpty: true)?.contains("description") == true)
    }

    /// Outside text in arguments and paths is echoed escaped and on one line.
    @Test(arguments: [
        ["show", "\u{1B}]0;x\u{7}\u{1B}[2J"], ["revoke", "x\nkeyctl: revoked key_AAAA (prod)"], ["rotate", "a\u{202E}b"],
        ["create", "ok", "--env", "\u{1B}[31m"], ["list", "--status", "x\ny"],
    ])
    func argumentsAreEchoedEscaped(arguments: [String]) throws {
        let world = World()
        try world.create("ok")
        let (line, message) = world.expectFailure(
            arguments, arguments[0] == "show" || arguments[0] == "revoke" || arguments[0] == "rotate" ? .notFound : .usage)
        for text in [line, message] {
            #expect(!text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{7}" || $0 == "\u{202E}" }, "\(text.debugDescription)")
            #expect(text.filter { $0 == "\n" }.count == (text == line ? 1 : 0), "\(text.debugDescription)")
        }
    }

    @Test func keystorePathIsEchoedEscapedAndRedacted() throws {
        let world = World()
        let dir = world.directory + "/\u{1B}[2J" + pastedKey
        let r = world.run(["--keystore", dir + "/ks.json", "init"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("\u{1B}"), "\(r.stderr.debugDescription)")
        #expect(!r.stderr.contains(String(pastedKey.dropFirst(8).prefix(12))), "the key was echoed: \(r.stderr)")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1)
        // `keyctl --keystore "$KEY" init`: the notice does not print the key.
        let bare = world.run(["--keystore", world.directory + "/" + pastedKey, "init"])
        #expect(bare.status == 0)
        #expect(bare.stderr.contains("ak_live_\u{2026}"), "\(bare.stderr)")
        #expect(!bare.stderr.contains(String(pastedKey.dropFirst(8).prefix(12))), "the key was echoed: \(bare.stderr)")
    }

    /// A hand-edited name with invisible characters is read, but shown escaped.
    @Test func handEditedNamesAreShownEscaped() throws {
        let world = World()
        try world.create("a")
        try world.create("zz")
        world.write(
            String(decoding: world.bytes()!, as: UTF8.self).replacingOccurrences(of: "\"name\":\"zz\"", with: "\"name\":\"a\\u200b\\u202eevil\""))
        let list = world.run(["list"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("a\\u{200B}\\u{202E}evil"), "\(list.stdout)")
        #expect(!list.stdout.unicodeScalars.contains { $0.properties.generalCategory == .format })
        let show = world.run(["show", "a\u{200B}\u{202E}evil"])
        #expect(show.status == 0)
        #expect(!show.stdout.unicodeScalars.contains { $0.properties.generalCategory == .format })
        let notFound = world.run(["revoke", "nope\u{202E}"])
        #expect(!notFound.stderr.unicodeScalars.contains { $0.properties.generalCategory == .format })
    }

    /// Two keys in use whose names are one name under Unicode normalisation, or an
    /// empty name, make a hand-edited keystore KEYSTORE_CORRUPT.
    @Test(arguments: [
        ("\"name\":\"caf\\u00e9\"", "\"name\":\"cafe\\u0301\""), ("\"name\":\"caf\u{E9}\"", "\"name\":\"cafe\u{301}\""),
        ("\"name\":\"x\"", "\"name\":\"\""), ("\"name\":\"\u{212B}\"", "\"name\":\"\u{C5}\""),
    ])
    func handEditedKeystoreCorrupt(first: String, second: String) throws {
        let world = World()
        try world.create("first")
        try world.create("second")
        let text = String(decoding: world.bytes()!, as: UTF8.self)
            .replacingOccurrences(of: "\"name\":\"first\"", with: first).replacingOccurrences(of: "\"name\":\"second\"", with: second)
        world.write(text)
        world.expectFailure(["list"], .keystoreCorrupt)
        world.expectFailure(["create", "third"], .keystoreCorrupt)
    }

    /// `create` compares names after normalisation too.
    @Test func createComparesNormalisedNames() throws {
        let world = World()
        try world.create("caf\u{E9}")
        world.expectFailure(["create", "cafe\u{301}"], .nameTaken)
    }
}
