// update, config and prune through the built binary: every bad input leaves the
// keystore, its log, its usage file and its index byte for byte as they were; data
// that cannot reach stdout undoes the change; and a change is seen by the very next
// verify, also when a settled index and usage stamps are there to go stale.

import Foundation
import Testing

extension Sandbox {
    /// Every file in the sandbox but the lock, with its bytes.
    func snapshot() -> [String: Data] {
        var all: [String: Data] = [:]
        for name in entries() where !name.hasSuffix(".lock") {
            all[name] = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path)
        }
        return all
    }

    /// A keystore with keys in every state, a usage file and a settled index.
    /// Returns the keys by name.
    func lifecycleFixture() throws -> [String: String] {
        var keys: [String: String] = [:]
        for (name, options) in [
            ("ci", ["--permissions", "read,write", "--description", "same"]), ("web", []), ("spare", []), ("gone", []), ("old", []),
        ] {
            let r = keyctl(["create", name] + options)
            try #require(r.status == 0, "\(r.stderr)")
            keys[name] = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try #require(keyctl(["revoke", "gone"]).status == 0)
        try #require(keyctl(["rotate", "old", "--grace", "1d"]).status == 0)
        try VerifyIndexTests.verifyUntilIndexed(self, keys["web"]! + "\n", status: 0)
        try #require(entries().contains("keystore.json.usage") && entries().contains("keystore.json.index"))
        return keys
    }
}

@Suite struct LifecycleEndToEndTests {
    static func id(_ box: Sandbox, _ name: String, status: String) throws -> String {
        let r = box.keyctl(["--json", "list", "--all"])
        let list = try #require(parseJSON(r.stdout) as? [[String: Any]])
        return try #require(list.first { $0["name"] as? String == name && $0["status"] as? String == status }?["id"] as? String)
    }

    /// Each bad input, as a person and with --json: its exit status, one line on
    /// stderr, nothing on stdout, and every file unchanged (and a read: `config`).
    @Test func badInputChangesNoFile() throws {
        let box = Sandbox()
        _ = try box.lifecycleFixture()
        let gone = try Self.id(box, "gone", status: "revoked")
        let old = try Self.id(box, "old", status: "retiring")
        let cases: [([String], Int32)] = [
            (["update", "ci"], 64),
            (["update", "ci", "--name", ""], 64),
            (["update", "ci", "--name", "web"], 5),
            (["update", "ci", "--description", "tab\there"], 64),
            (["update", "ci", "--expires-in", "30d", "--no-expiry"], 64),
            (["update", "ci", "--expires-at", "2001-01-01T00:00:00Z"], 64),
            (["update", "ci", "--expires-in", "99999999w"], 64),
            (["update", "nobody", "--name", "x"], 6),
            (["update", gone, "--name", "x"], 5),
            (["update", old, "--name", "x"], 5),
            (["update", "ci", "--description", "same"], 64),
            (["config", "--max-keys", "0"], 64),
            (["config", "--max-keys", "100001"], 64),
            (["config", "--max-keys", "many"], 64),
            (["config", "--max-keys", "2"], 5),
            (["config"], 0),
            (["prune"], 64),
            (["prune", "--revoked-before", "later"], 64),
            (["prune", "--revoked-before", "99999999w"], 64),
            (["prune", "--revoked-before", "0s", "--dry-run"], 0),
            (["prune", "--revoked-before", "1d"], 0),
        ]
        let before = box.snapshot()
        for (arguments, status) in cases {
            for json in [false, true] {
                let r = box.keyctl((json ? ["--json"] : []) + arguments)
                #expect(r.status == status, "\(arguments): \(r.stderr)")
                if status != 0 {
                    #expect(r.stdout.isEmpty, "\(arguments) printed \(r.stdout)")
                    #expect(r.stderr.filter { $0 == "\n" }.count == 1, "one line: \(r.stderr.debugDescription)")
                    #expect(r.stderr.hasPrefix(json ? "{\"error\":" : "keyctl: "), "\(r.stderr)")
                }
                #expect(box.snapshot() == before, "\(arguments) changed a file")
            }
        }
        #expect(box.keyctl(["log", "--verify"]).status == 0)
    }

    /// The data update, config and prune print is part of their change.
    @Test(arguments: [">&-", ">/dev/full"])
    func undeliverableOutputUndoesTheChange(redirect: String) throws {
        let box = Sandbox()
        _ = try box.lifecycleFixture()
        let before = box.snapshot()
        let commands = [
            ["--json", "update", "ci", "--name", "renamed"], ["--json", "config", "--max-keys", "50"], ["prune", "--revoked-before", "0s"],
            ["--json", "prune", "--revoked-before", "0s"],
        ]
        for arguments in commands {
            let r = ClosedStreamTests.run(box, arguments, redirect: redirect)
            #expect(r.status == 74, "\(arguments) \(redirect): \(r.stderr)")
            #expect(box.snapshot() == before, "\(arguments) \(redirect) changed a file")
        }
        #expect(box.keyctl(["log", "--verify"]).status == 0)
    }

    /// A permission removed by update is refused by the next verify, though the
    /// index verify built (and trusts) still lists the key with it.
    @Test func aRemovedPermissionIsRefusedThroughASettledIndex() throws {
        let box = Sandbox()
        let keys = try box.lifecycleFixture()
        let ci = keys["ci"]!
        try VerifyIndexTests.verifyUntilIndexed(box, ci + "\n", status: 0)
        #expect(box.keyctl(["verify", "--require", "write"], stdin: ci).status == 0)
        #expect(box.keyctl(["update", "ci", "--permissions", "read"]).status == 0)
        let r = box.keyctl(["--json", "verify", "--require", "write"], stdin: ci)
        #expect(r.status == 4, "\(r.stdout)")
        #expect((parseJSON(r.stdout) as? [String: Any])?["code"] as? String == "FORBIDDEN")
        #expect(box.keyctl(["verify", "--require", "read"], stdin: ci).status == 0)
        try VerifyIndexTests.verifyUntilIndexed(box, ci + "\n", status: 0)
        #expect(box.keyctl(["verify", "--require", "write"], stdin: ci).status == 4)
    }

    /// A pruned key is INVALID_API_KEY at once, though a settled index of the keystore
    /// before the prune lists it and the usage file has a stamp for it.
    @Test func aPrunedKeyIsInvalidThoughAnIndexAndAStampKnewIt() throws {
        let box = Sandbox()
        let keys = try box.lifecycleFixture()
        let web = keys["web"]!
        try VerifyIndexTests.verifyUntilIndexed(box, web + "\n", status: 0)
        #expect(box.keyctl(["revoke", "web"]).status == 0)
        try VerifyIndexTests.verifyUntilIndexed(box, web + "\n", status: 3)
        let r = box.keyctl(["--json", "prune", "--revoked-before", "0s"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect((parseJSON(r.stdout) as? [[String: Any]])?.count == 2, "gone and web: \(r.stdout)")
        let v = box.keyctl(["--json", "verify"], stdin: web)
        #expect(v.status == 1, "\(v.stdout)")
        #expect((parseJSON(v.stdout) as? [String: Any])?["code"] as? String == "INVALID_API_KEY")
        try VerifyIndexTests.verifyUntilIndexed(box, web + "\n", status: 1)
        #expect(box.keyctl(["log", "--verify"]).status == 0)
    }

    /// A helper process that answers a line at a time sees an update and a prune from
    /// the next line on: no answer comes from the keystore as it was.
    @Test func aRunningBatchSeesUpdateAndPruneOnItsNextLine() throws {
        let box = Sandbox()
        let keys = try box.lifecycleFixture()
        let batch = BatchCoprocess(["--keystore", box.keystore, "verify", "--batch", "--require", "write"])
        func code(_ key: String) -> String? {
            guard let line = batch.ask(key), let answer = parseJSON(line) as? [String: Any] else { return "no answer" }
            return answer["valid"] as? Bool == true ? "valid" : answer["code"] as? String
        }
        #expect(code(keys["ci"]!) == "valid")
        #expect(box.keyctl(["update", "ci", "--permissions", "read"]).status == 0)
        #expect(code(keys["ci"]!) == "FORBIDDEN")
        #expect(box.keyctl(["update", "ci", "--permissions", "read,write"]).status == 0)
        #expect(code(keys["ci"]!) == "valid")
        #expect(box.keyctl(["update", "web", "--permissions", "admin"]).status == 0)
        #expect(code(keys["web"]!) == "valid")
        #expect(box.keyctl(["revoke", "web"]).status == 0)
        #expect(code(keys["web"]!) == "REVOKED_API_KEY")
        #expect(box.keyctl(["prune", "--revoked-before", "0s"]).status == 0)
        #expect(code(keys["web"]!) == "INVALID_API_KEY")
        #expect(code(keys["gone"]!) == "INVALID_API_KEY")
        #expect(batch.finish() == 0)
    }
}
