// The built binary as a script drives it: JSON in, exit statuses out, data on
// stdout and nothing else there.

import Foundation
import Testing

@Suite struct SessionTests {
    fileprivate static func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(parseJSON(text) as? [String: Any], "not a JSON object: \(text.debugDescription)", sourceLocation: sourceLocation)
    }

    /// verify --json with the key on stdin: the exit status and the answer's code (nil when valid).
    fileprivate static func verify(
        _ s: Sandbox, _ key: String, _ options: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (Int32, String?) {
        let r = s.keyctl(["verify", "--json"] + options, stdin: key + "\n")
        #expect(r.stderr.isEmpty, "\(r.stderr)", sourceLocation: sourceLocation)
        let answer = try object(r.stdout, sourceLocation: sourceLocation)
        #expect((answer["valid"] as? Bool) == (r.status == 0), sourceLocation: sourceLocation)
        return (r.status, answer["code"] as? String)
    }

    @Test func scriptStyleSession() throws {
        let s = Sandbox()
        let created = s.keyctl(["create", "ci", "--json", "--permissions", "read,write"])
        #expect(created.status == 0, "\(created.stderr)")
        let record = try Self.object(created.stdout)
        let key = try #require(record["key"] as? String)
        let id = try #require(record["id"] as? String)
        #expect(record["name"] as? String == "ci")
        #expect(record["status"] as? String == "active")
        #expect(key.hasPrefix("ak_live_"))

        // Verify from stdin, as the spec recommends.
        let v = s.keyctl(["verify", "--json"], stdin: key + "\n")
        #expect(v.status == 0)
        let answer = try Self.object(v.stdout)
        #expect(answer["valid"] as? Bool == true && answer["id"] as? String == id && answer["name"] as? String == "ci")
        #expect(try Self.verify(s, key, ["--require", "write"]) == (0, nil))
        #expect(try Self.verify(s, key, ["--require", "admin"]) == (4, "FORBIDDEN"))
        #expect(s.keyctl(["verify", "--from-env", "SERVICE_KEY"], environment: ["SERVICE_KEY": key]).status == 0)
        #expect(try Self.verify(s, "ak_live_nope") == (1, "INVALID_API_KEY"))
        #expect(try Self.verify(s, "") == (1, "MISSING_API_KEY"))

        // Rotate at once: the old key is revoked, the new one works.
        let rotated = s.keyctl(["--json", "rotate", "ci"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let pair = try Self.object(rotated.stdout)
        let old = try #require(pair["old"] as? [String: Any])
        let new = try #require(pair["new"] as? [String: Any])
        let second = try #require(new["key"] as? String)
        #expect(old["id"] as? String == id && old["status"] as? String == "revoked")
        #expect(new["rotated_from"] as? String == id && new["permissions"] as? [String] == ["read", "write"])
        #expect(try Self.verify(s, key) == (3, "REVOKED_API_KEY"))
        #expect(try Self.verify(s, second) == (0, nil))

        // Rotate with a grace period: both verify until it ends.
        let graceful = s.keyctl(["rotate", "ci", "--grace", "1h", "--json"])
        #expect(graceful.status == 0, "\(graceful.stderr)")
        let gracePair = try Self.object(graceful.stdout)
        let third = try #require((gracePair["new"] as? [String: Any])?["key"] as? String)
        let secondID = try #require((gracePair["old"] as? [String: Any])?["id"] as? String)
        #expect((gracePair["old"] as? [String: Any])?["status"] as? String == "retiring")
        #expect(try Self.verify(s, second) == (0, nil))
        #expect(try Self.verify(s, third) == (0, nil))
        let list = s.keyctl(["list", "--json", "--all"])
        let statuses = try #require(parseJSON(list.stdout) as? [[String: Any]]).compactMap { $0["status"] as? String }
        #expect(statuses == ["active", "retiring", "revoked"], "newest first")

        // Ending the grace early.
        #expect(s.keyctl(["revoke", secondID]).status == 0)
        #expect(try Self.verify(s, second) == (3, "REVOKED_API_KEY"))
        #expect(try Self.verify(s, third) == (0, nil))
        let last = s.keyctl(["revoke", "ci", "--json"])
        #expect(last.status == 5 && last.stdout.isEmpty)
        #expect(((try Self.object(last.stderr))["error"] as? [String: Any])?["code"] as? String == "LAST_KEY")
    }

    @Test func stdoutCarriesDataOnly() throws {
        let s = Sandbox()
        let initialized = s.keyctl(["init"])
        #expect(initialized.status == 0 && initialized.stdout.isEmpty && !initialized.stderr.isEmpty)
        let created = s.keyctl(["create", "ci"])
        #expect(created.status == 0)
        let lines = created.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "exactly one line: \(created.stdout.debugDescription)")
        let key = String(lines[0])
        #expect(key.hasPrefix("ak_live_") && key.count == 46 && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" })
        #expect(created.stderr.hasPrefix("keyctl: ") && !created.stderr.contains(key))
        #expect(s.keyctl(["verify"], stdin: key).status == 0)
        // Shell capture: KEY=$(keyctl create …) gets the key and nothing else.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = [
            "-c", "K=$(\"$0\" --keystore \"$1\" create other 2>/dev/null) && printf %s \"$K\" | \"$0\" --keystore \"$1\" verify",
            Binary.path, s.keystore,
        ]
        shell.standardOutput = FileHandle.nullDevice
        shell.standardError = FileHandle.nullDevice
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
        let revoked = s.keyctl(["revoke", "ci"])
        #expect(revoked.status == 0 && revoked.stdout.isEmpty)
    }

    @Test func version() {
        for argv in [["--version"], ["list", "--version"]] {
            let r = runKeyctl(argv)
            #expect(r.status == 0 && r.stderr.isEmpty)
            let parts = r.stdout.split(separator: " ")
            #expect(parts.count == 2 && parts[0] == "keyctl" && r.stdout.hasSuffix("\n"), "\(r.stdout)")
            let numbers = parts.last.map { $0.dropLast().split(separator: ".", omittingEmptySubsequences: false) } ?? []
            #expect(numbers.count == 3 && numbers.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }, "\(r.stdout)")
        }
    }

    @Test func helpGoesToStdoutWithExitZero() {
        for argv in [["--help"], ["-h"], ["help"], ["create", "--help"], ["help", "verify"], ["rotate", "-h", "--bogus"]] {
            let r = runKeyctl(argv)
            #expect(r.status == 0, "\(argv)")
            #expect(r.stdout.contains("Usage: keyctl"), "\(argv)")
            #expect(r.stderr.isEmpty, "\(argv): \(r.stderr)")
        }
    }

    /// Issue 8 items 13 and 14 against the binary: a bare `keyctl` lists the
    /// commands on stderr and exits 64; `--help` and `--version` into a full disk
    /// exit 74 as `help` does; a mistyped command gets the nearest one.
    @Test func bareKeyctlHelpOnAFullDiskAndSuggestions() {
        let s = Sandbox()
        let bare = s.keyctl([])
        #expect(bare.status == 64 && bare.stdout.isEmpty)
        #expect(bare.stderr.contains("\n  rotate ") && bare.stderr.hasSuffix("keyctl: missing command; see 'keyctl --help'\n"), "\(bare.stderr)")
        for argv in [["help"], ["--help"], ["--version"], ["rotate", "--help"]] {
            let r = sh("exec \(shq(Binary.path)) \(argv.joined(separator: " ")) >/dev/full")
            #expect(r.status == 74, "\(argv) >/dev/full: \(r.output)")
        }
        let typo = s.keyctl(["lsit"])
        #expect(typo.status == 64 && typo.stderr == "keyctl: unknown command 'lsit'; did you mean 'list'? see 'keyctl --help'\n")
    }

    @Test func usageErrorsExit64OnStderr() throws {
        let s = Sandbox()
        for argv in [
            ["frobnicate"], ["create"], ["list", "--bogus"], ["create", "x", "--expires-in", "soon"],
            ["show", "a", "b"], ["verify", "k", "--from-env", "V"],
        ] {
            let r = s.keyctl(argv)
            #expect(r.status == 64, "\(argv): \(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.hasPrefix("keyctl: ") && r.stderr.contains("--help"), "\(argv): \(r.stderr)")
            #expect(r.stderr.filter { $0 == "\n" }.count == 1, "one line: \(r.stderr.debugDescription)")
            let j = s.keyctl(["--json"] + argv)
            #expect(j.status == 64 && j.stdout.isEmpty)
            #expect(((try Self.object(j.stderr))["error"] as? [String: Any])?["code"] as? String == "USAGE")
        }
        #expect(s.keystoreBytes() == nil)
    }

    @Test func missingKeystoreExits66() {
        let s = Sandbox()
        for argv in [["list"], ["show", "x"], ["revoke", "x"], ["rotate", "x"]] {
            let r = s.keyctl(argv)
            #expect(r.status == 66 && r.stdout.isEmpty && r.stderr.contains("init"), "\(argv): \(r.stderr)")
        }
        #expect(s.keyctl(["verify"], stdin: "ak_live_x\n").status == 66)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: s.directory.path))?.isEmpty == true)
    }
}
