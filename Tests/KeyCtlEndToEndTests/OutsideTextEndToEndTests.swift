// Issue 8 items 3, 4 and 5 against the built binary: pieces of keys are never echoed
// or stored, and outside text never drives the terminal.

import Foundation
import Testing

/// Whether `text` holds a byte that can drive a terminal or hide text.
func hasTerminalControl(_ text: String) -> Bool {
    text.unicodeScalars.contains {
        ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value) || $0.properties.generalCategory == .format
    }
}

@Suite("Echoed secrets", .serialized)
struct EchoedSecretTests {
    @Test func piecesOfAKeyAreNeitherEchoedNorStored() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init"]).status == 0)
        let key = box.keyctl(["create", "ci"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.hasPrefix("ak_live_"))
        let body = String(key.dropFirst("ak_live_".count))
        let probe = String(body.prefix(12))
        let before = box.keystoreBytes()
        for name in [key, body, String(key.dropFirst()), key.replacingOccurrences(of: "_", with: "-")] {
            let r = box.keyctl(["create", name])
            #expect(r.status == 64, "\(name): \(r.stderr)")
            #expect(!r.stderr.contains(probe), "echoed: \(r.stderr)")
            let shown = box.keyctl(["show", name])
            #expect(shown.status == 6)
            #expect(!shown.stderr.contains(probe), "echoed: \(shown.stderr)")
        }
        #expect(box.keystoreBytes() == before)
        // `keyctl --keystore "$KEY" init` names the new keystore without the key.
        let elsewhere = runKeyctl(["--keystore", box.directory.appendingPathComponent(key).path, "init"])
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
        #expect(!elsewhere.stderr.contains(probe), "echoed: \(elsewhere.stderr)")
        #expect(elsewhere.stderr.contains("ak_live_\u{2026}"), "\(elsewhere.stderr)")
    }
}

@Suite("Control characters", .serialized)
struct ControlCharacterTests {
    @Test(arguments: [
        ["show", "\u{1B}]0;x\u{7}\u{1B}[2J"], ["revoke", "x\nkeyctl: revoked key_AAAA (prod)"], ["create", "a\u{202E}b"],
        ["create", "a\u{200B}"], ["create", "   "], ["--json", "show", "\u{1B}[2J"],
    ])
    func errorsAreOneLineAndInert(arguments: [String]) {
        let box = Sandbox()
        #expect(box.keyctl(["init"]).status == 0)
        #expect(box.keyctl(["create", "a"]).status == 0)
        let before = box.keystoreBytes()
        let r = box.keyctl(arguments)
        #expect(r.status != 0)
        #expect(!hasTerminalControl(r.stderr), "\(r.stderr.debugDescription)")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr.debugDescription)")
        #expect(box.keystoreBytes() == before)
    }

    @Test func keystorePathIsEscaped() {
        let box = Sandbox()
        let path = box.directory.appendingPathComponent("\u{1B}[2J\nkeyctl: fake").appendingPathComponent("ks.json").path
        let r = runKeyctl(["--keystore", path, "list"])
        #expect(r.status == 66)
        #expect(!hasTerminalControl(r.stderr), "\(r.stderr.debugDescription)")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr.debugDescription)")
    }

    /// A hand-edited name with a right-to-left override is listed escaped.
    @Test func handEditedNameIsListedEscaped() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init"]).status == 0)
        #expect(box.keyctl(["create", "a"]).status == 0)
        #expect(box.keyctl(["create", "zz"]).status == 0)
        let text = String(decoding: try #require(box.keystoreBytes()), as: UTF8.self)
        box.write(Array(text.replacingOccurrences(of: "\"name\":\"zz\"", with: "\"name\":\"x\\u202e\\u200bgood\"").utf8))
        for args in [["list"], ["show", "x\u{202E}\u{200B}good"]] {
            let r = box.keyctl(args)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!hasTerminalControl(r.stdout), "\(r.stdout.debugDescription)")
        }
    }
}
