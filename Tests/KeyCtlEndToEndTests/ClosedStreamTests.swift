// Issue 8 item 1: a standard stream closed when keyctl starts is never mistaken for a
// file keyctl opens later. In 1.0, `keyctl create ci >&-` exited 0 and wrote the new
// key into keystore.json.lock (the next open() took fd 1), where it verified.

import Foundation
import Testing

@Suite("Closed standard streams", .serialized)
struct ClosedStreamTests {
    /// Runs keyctl through /bin/sh with `redirect` applied (`>&-`, `2>&-`, `<&-`, …).
    static func run(_ box: Sandbox, _ arguments: [String], redirect: String) -> Run {
        let line = "exec \(shq(Binary.path)) --keystore \(shq(box.keystore)) \(arguments.map(shq).joined(separator: " ")) \(redirect)"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", line]
        return runProcess(p)
    }

    /// Every file in the sandbox must be free of anything shaped like a key (the
    /// keystore holds only hints, `ak_live_…Qx9Q`), and the lock file empty.
    static func expectNoSecretOnDisk(_ box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) {
        for name in box.entries() {
            let data = FileManager.default.contents(atPath: box.directory.appendingPathComponent(name).path) ?? Data()
            let text = String(decoding: data, as: UTF8.self)
            let key = text.range(of: "_(live|test)_[0-9A-Za-z]{12,}", options: .regularExpression)
            #expect(key == nil, "\(name) holds a key", sourceLocation: sourceLocation)
            if name.hasSuffix(".lock") {
                #expect(data.isEmpty, "the lock file holds \(text.debugDescription)", sourceLocation: sourceLocation)
            }
        }
    }

    static func seeded(_ box: Sandbox) -> [UInt8] {
        #expect(box.keyctl(["init"]).status == 0)
        #expect(box.keyctl(["create", "k0", "--expires-in", "30d"]).status == 0)
        #expect(box.keyctl(["create", "k1"]).status == 0)
        return Array(box.keystoreBytes() ?? Data())
    }

    /// Data for a closed stdout: IO_ERROR (74), nothing changed, no key anywhere.
    @Test(arguments: [
        ["create", "ci"], ["--json", "create", "ci"], ["create", "ci", "--format", "env"], ["rotate", "k0"],
        ["--json", "rotate", "k0"], ["rotate", "--expiring-within", "60d"], ["--json", "revoke", "k0"], ["list"], ["show", "k0"],
    ])
    func closedStdoutFailsAndChangesNothing(arguments: [String]) {
        let box = Sandbox()
        let before = Self.seeded(box)
        let r = Self.run(box, arguments, redirect: ">&-")
        #expect(r.status == 74, "\(arguments): \(r.stderr)")
        #expect(r.stderr.contains("standard output"), "\(r.stderr)")
        #expect(Array(box.keystoreBytes() ?? Data()) == before, "\(arguments) changed the keystore")
        Self.expectNoSecretOnDisk(box)
        // Both streams closed: the same failure, silently.
        let both = Self.run(box, arguments, redirect: ">&- 2>&-")
        #expect(both.status == 74)
        #expect(Array(box.keystoreBytes() ?? Data()) == before)
        Self.expectNoSecretOnDisk(box)
    }

    @Test func closedStdoutJSONInitMakesNoKeystore() {
        let box = Sandbox()
        let r = Self.run(box, ["--json", "init"], redirect: ">&-")
        #expect(r.status == 74, "\(r.stderr)")
        #expect(box.keystoreBytes() == nil, "a keystore was made")
        // init without --json prints no data, only a notice: it works.
        let plain = Self.run(box, ["init"], redirect: ">&-")
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stderr.contains("created keystore"))
        Self.expectNoSecretOnDisk(box)
    }

    /// A closed stderr: the command works, the notice goes nowhere (not into the lock).
    @Test(arguments: [["create", "ci"], ["rotate", "k0"], ["--json", "create", "ci"]])
    func closedStderrStillWorks(arguments: [String]) {
        let box = Sandbox()
        _ = Self.seeded(box)
        let r = Self.run(box, arguments, redirect: "2>&-")
        #expect(r.status == 0)
        #expect(!r.stdout.isEmpty)
        Self.expectNoSecretOnDisk(box)
        let key = r.stdout.hasPrefix("{") ? ((parseJSON(r.stdout) as? [String: Any])?["key"] as? String ?? "") : r.stdout
        #expect(box.keyctl(["verify"], stdin: key).status == 0, "the printed key does not verify")
    }

    /// A closed stdin: verify has no key (not the keystore's bytes), create still works.
    @Test func closedStdin() {
        let box = Sandbox()
        _ = Self.seeded(box)
        let v = Self.run(box, ["verify"], redirect: "<&-")
        #expect(v.status == 1, "\(v.stderr)")
        #expect(v.stderr.contains("no key given"), "\(v.stderr)")
        let c = Self.run(box, ["create", "ci"], redirect: "<&-")
        #expect(c.status == 0, "\(c.stderr)")
        Self.expectNoSecretOnDisk(box)
    }
}
