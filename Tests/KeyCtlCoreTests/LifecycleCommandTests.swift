// update, config and prune (keyctl(1) COMMANDS and AUDIT LOG), in-process with a fixed clock: what
// each changes, the one audit log entry it adds, and that every refusal leaves the
// keystore and every file beside it (log, usage, index) byte for byte as they were.

import Foundation
import Testing

@testable import KeyCtlCore

extension World {
    /// Every file in the keystore's directory but the lock, by name, with its bytes.
    func snapshot() -> [String: Data] {
        var all: [String: Data] = [:]
        for name in files() where !name.hasSuffix(".lock") {
            all[name] = FileManager.default.contents(atPath: directory + "/" + name)
        }
        return all
    }

    /// The audit log's entries (`log --json`).
    func logEntries(sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let r = run(["log", "--json"])
        try #require(r.status == 0, "log: \(r.stderr)", sourceLocation: sourceLocation)
        return try #require(parse(r.stdout) as? [[String: Any]], sourceLocation: sourceLocation)
    }

    /// `expectFailure`, and the log, usage file and index unchanged too.
    func expectRefusal(_ arguments: [String], _ code: ErrorCode, sourceLocation: SourceLocation = #_sourceLocation) {
        let before = snapshot()
        expectFailure(arguments, code, sourceLocation: sourceLocation)
        #expect(snapshot() == before, "\(arguments) changed a file beside the keystore", sourceLocation: sourceLocation)
        #expect(run(["log", "--verify"]).status == 0, sourceLocation: sourceLocation)
    }
}

/// The changes one log entry records for one key: field -> [old, new].
func changes(in entry: [String: Any], of id: String) -> [String: [Any]] {
    let keys = entry["keys"] as? [[String: Any]] ?? []
    let key = keys.first { $0["id"] as? String == id }
    return key?["changes"] as? [String: [Any]] ?? [:]
}

@Suite struct UpdateCommandTests {
    @Test func changesInPlaceKeepingTheSecretAndId() throws {
        let w = World()
        let a = try w.create("ci", ["--permissions", "read,write", "--expires-in", "30d"])
        let entries = try w.logEntries().count
        w.now += 3600
        let r = w.run([
            "update", "ci", "--name", "deploy bot", "--description", "GitHub Actions, repo web", "--permissions", "read", "--expires-in", "90d",
            "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        let record = try object(r.stdout)
        #expect(record["id"] as? String == a.id)
        #expect(record["name"] as? String == "deploy bot")
        #expect(record["description"] as? String == "GitHub Actions, repo web")
        #expect(record["permissions"] as? [String] == ["read"])
        #expect(record["expires_at"] as? String == iso(w.now + 90 * 86400))
        #expect(record["created_at"] as? String == a.record["created_at"] as? String)
        #expect(record["hint"] as? String == a.record["hint"] as? String)
        #expect(record["key"] == nil, "update never prints a secret")
        // The same secret still verifies, under the new name.
        #expect(w.verify(a.key) == 0)
        #expect(try w.record("deploy bot")["id"] as? String == a.id)
        #expect(w.run(["show", "ci"]).status == ErrorCode.notFound.exitStatus)
        // One log entry, with every changed field's old and new value.
        let log = try w.logEntries()
        #expect(log.count == entries + 1)
        let last = try #require(log.last)
        #expect(last["command"] as? String == "update")
        let changed = changes(in: last, of: a.id)
        #expect(Set(changed.keys) == ["name", "description", "permissions", "expires_at"])
        #expect(changed["name"]?.first as? String == "ci" && changed["name"]?.last as? String == "deploy bot")
        #expect(changed["description"]?.first is NSNull && changed["description"]?.last as? String == "GitHub Actions, repo web")
        #expect(changed["permissions"]?.first as? [String] == ["read", "write"])
        #expect(changed["permissions"]?.last as? [String] == ["read"])
        #expect(w.run(["log", "--verify"]).status == 0)
    }

    @Test func humanNoticeIsOneLineOnStderr() throws {
        let w = World()
        let a = try w.create("ci")
        let r = w.run(["update", "ci", "--permissions", "read,write"])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty, "stdout carries data only")
        #expect(r.stderr == "keyctl: updated \(a.id) (ci): permissions read -> read,write\n")
    }

    @Test func anEmptyDescriptionClearsIt() throws {
        let w = World()
        let a = try w.create("ci", ["--description", "old text"])
        #expect(w.run(["update", "ci", "--description", ""]).status == 0)
        #expect(try w.record("ci")["description"] is NSNull)
        let changed = changes(in: try #require(try w.logEntries().last), of: a.id)
        #expect(changed["description"]?.first as? String == "old text" && changed["description"]?.last is NSNull)
    }

    @Test func noExpiryAndExpiresAt() throws {
        let w = World()
        try w.create("ci", ["--expires-in", "1d"])
        #expect(w.run(["update", "ci", "--no-expiry"]).status == 0)
        #expect(try w.record("ci")["expires_at"] is NSNull)
        #expect(w.run(["update", "ci", "--expires-at", "2030-01-01T00:00:00Z"]).status == 0)
        #expect(try w.record("ci")["expires_at"] as? String == "2030-01-01T00:00:00Z")
    }

    @Test func anExpiredKeyCanBeGivenANewExpiry() throws {
        let w = World()
        let a = try w.create("ci", ["--expires-in", "1h"])
        w.now += 7200
        #expect(w.verify(a.key) == 2)
        #expect(w.run(["update", "ci", "--expires-in", "30d"]).status == 0)
        #expect(try w.record("ci")["status"] as? String == "active")
        #expect(w.verify(a.key) == 0)
    }

    @Test func aRemovedPermissionIsRefusedByTheVeryNextVerify() throws {
        let w = World()
        // A zero settle time: verify builds and trusts its index at once.
        w.system.indexSettleTime = 0
        let a = try w.create("ci", ["--permissions", "read,write"])
        try w.create("other")
        #expect(w.verify(a.key, ["--require", "write"]) == 0)
        #expect(w.verify(a.key, ["--require", "write"]) == 0)
        #expect(FileManager.default.fileExists(atPath: w.keystore + ".index"), "the index is there to go stale")
        #expect(w.run(["update", "ci", "--permissions", "read"]).status == 0)
        w.expectAnswer(["verify", "--require", "write"], .forbidden, stdin: a.key + "\n")
        #expect(w.verify(a.key, ["--require", "read"]) == 0)
    }

    @Test func aNameIsFreeOnceItsKeyIsRevoked() throws {
        let w = World()
        try w.create("a")
        try w.create("b")
        let c = try w.create("c")
        #expect(w.run(["revoke", "c"]).status == 0)
        #expect(w.run(["update", "a", "--name", "c"]).status == 0)
        #expect(try w.record("c")["id"] as? String != c.id)
    }

    /// Every bad input: its code, one line, and nothing written anywhere.
    @Test func refusalsChangeNothing() throws {
        let w = World()
        let a = try w.create("ci", ["--description", "same", "--permissions", "read,write", "--expires-in", "30d"])
        let b = try w.create("web")
        try w.create("spare")
        let revoked = try w.create("gone")
        #expect(w.run(["revoke", "gone"]).status == 0)
        let rotated = try w.create("old")
        #expect(w.run(["rotate", "old", "--grace", "1d"]).status == 0)
        _ = w.verify(b.key)  // a usage stamp to keep
        let cases: [([String], ErrorCode)] = [
            (["update", "ci"], .usage),
            (["update"], .usage),
            (["update", "ci", "--name", ""], .usage),
            (["update", "ci", "--name", "   "], .usage),
            (["update", "ci", "--name", "a\u{7}b"], .usage),
            (["update", "ci", "--name", "a\u{202E}b"], .usage),
            (["update", "ci", "--name", String(repeating: "n", count: 101)], .usage),
            (["update", "ci", "--name", "web"], .nameTaken),
            (["update", "ci", "--description", "line\nbreak"], .usage),
            (["update", "ci", "--description", String(repeating: "d", count: 501)], .usage),
            (["update", "ci", "--description", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ"], .usage),
            (["update", "ci", "--permissions", "root"], .usage),
            (["update", "ci", "--permissions", ""], .usage),
            (["update", "ci", "--expires-in", "30d", "--no-expiry"], .usage),
            (["update", "ci", "--expires-in", "30d", "--expires-at", "2030-01-01T00:00:00Z"], .usage),
            (["update", "ci", "--expires-at", "2030-01-01T00:00:00Z", "--no-expiry"], .usage),
            (["update", "ci", "--expires-in", "0s"], .usage),
            (["update", "ci", "--expires-in", "101y"], .usage),
            (["update", "ci", "--expires-in", "99999999w"], .usage),
            (["update", "ci", "--expires-at", "2020-01-01T00:00:00Z"], .usage),
            (["update", "ci", "--expires-at", "tomorrow"], .usage),
            (["update", "ci", "--frobnicate"], .usage),
            (["update", "ci", "extra"], .usage),
            (["update", "nobody", "--permissions", "read"], .notFound),
            (["update", "gone", "--permissions", "read"], .notFound),
            (["update", revoked.id, "--permissions", "read"], .keyRevoked),
            (["update", rotated.id, "--description", "x"], .keyRevoked),
            // Nothing to change: every value given is the key's already.
            (["update", "ci", "--description", "same"], .usage),
            (["update", "ci", "--name", "ci", "--permissions", "write,read"], .usage),
            (["update", "web", "--no-expiry"], .usage),
            (["update", "web", "--description", ""], .usage),
        ]
        for (arguments, code) in cases {
            w.expectRefusal(arguments, code)
        }
        // The refusals left the key as it was.
        let record = try w.record(a.id)
        #expect(record["name"] as? String == "ci" && record["description"] as? String == "same")
    }

    @Test func nothingToChangeSaysSoAndWritesNoLogEntry() throws {
        let w = World()
        let a = try w.create("ci", ["--permissions", "write"])
        let entries = try w.logEntries().count
        let r = w.run(["update", "ci", "--permissions", "write"])
        #expect(r.status == 64)
        #expect(r.stderr.hasPrefix("keyctl: nothing to change: \(a.id) (ci)"))
        #expect(try w.logEntries().count == entries)
    }

    @Test func anUndeliverableRecordIsNotKept() throws {
        let w = World()
        try w.create("ci")
        let before = w.snapshot()
        w.stdoutWorks = false
        let r = w.run(["update", "ci", "--name", "renamed", "--json"])
        #expect(r.status == ErrorCode.ioError.exitStatus)
        #expect(w.snapshot() == before)
        w.stdoutWorks = true
        #expect(w.run(["log", "--verify"]).status == 0)
        #expect(try w.record("ci")["name"] as? String == "ci")
    }
}

@Suite struct ConfigCommandTests {
    @Test func printsTheSettingsAndWritesNothing() throws {
        let w = World()
        #expect(w.run(["init", "--prefix", "xy", "--max-keys", "5"]).status == 0)
        try w.create("a")
        try w.create("b")
        #expect(w.run(["revoke", "b"]).status == 0)
        let before = w.snapshot()
        let r = w.run(["config"])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        #expect(
            r.stdout == """
                keystore: \(w.keystore)
                version:  2
                prefix:   xy
                max_keys: 5
                in_use:   1
                records:  2

                """)
        let json = w.run(["config", "--json"])
        #expect(json.status == 0)
        let object = try object(json.stdout)
        #expect(Set(object.keys) == ["keystore", "version", "prefix", "max_keys", "in_use", "records"])
        #expect(object["keystore"] as? String == w.keystore)
        #expect(object["version"] as? Int == 2 && object["prefix"] as? String == "xy")
        #expect(object["max_keys"] as? Int == 5 && object["in_use"] as? Int == 1 && object["records"] as? Int == 2)
        #expect(w.snapshot() == before, "reading the settings wrote")
    }

    @Test func aVersion1KeystoreIsReadNotUpgraded() throws {
        let w = World()
        let fixture = try Repository.bytes("Tests/Fixtures/v1/lifecycle.json")
        _ = FileManager.default.createFile(atPath: w.keystore, contents: Data(fixture), attributes: [.posixPermissions: 0o600])
        let r = w.run(["config", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try object(r.stdout)["version"] as? Int == 1)
        let human = w.run(["config"])
        #expect(human.stdout.contains("version:  1 (the next change upgrades it to 2)"))
        #expect(w.bytes() == fixture, "config rewrote a version 1 keystore")
        #expect(w.files() == ["keystore.json"], "config made files beside a keystore it only read")
    }

    @Test func changingTheLimitIsOneLogEntry() throws {
        let w = World()
        try w.create("a")
        try w.create("b")
        let entries = try w.logEntries().count
        let r = w.run(["config", "--max-keys", "2"])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "keyctl: max_keys 10 -> 2: the keystore now allows 2 keys in use\n")
        let log = try w.logEntries()
        #expect(log.count == entries + 1)
        let last = try #require(log.last)
        #expect(last["command"] as? String == "config")
        #expect((last["keys"] as? [Any])?.isEmpty == true)
        let settings = try #require(last["settings"] as? [String: [Any]])
        #expect(settings.count == 1 && settings["max_keys"]?.first as? Int == 10 && settings["max_keys"]?.last as? Int == 2)
        // The new limit holds.
        w.expectRefusal(["create", "c"], .keyLimitReached)
        let json = w.run(["config", "--max-keys=3", "--json"])
        #expect(json.status == 0 && json.stderr.isEmpty)
        #expect(try object(json.stdout)["max_keys"] as? Int == 3)
        try w.create("c")
    }

    @Test func theLimitItHasAlreadyIsSuccessWithoutAWrite() throws {
        let w = World()
        try w.create("a")
        let before = w.snapshot()
        let r = w.run(["config", "--max-keys", "10"])
        #expect(r.status == 0)
        #expect(r.stderr == "keyctl: the limit is 10 keys in use already; nothing changed\n")
        #expect(w.snapshot() == before)
    }

    @Test func aVersion1KeystoreIsUpgradedByAChange() throws {
        let w = World()
        let fixture = try Repository.bytes("Tests/Fixtures/v1/lifecycle.json")
        _ = FileManager.default.createFile(atPath: w.keystore, contents: Data(fixture), attributes: [.posixPermissions: 0o600])
        let r = w.run(["config", "--max-keys", "50", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try object(r.stdout)["version"] as? Int == 2)
        let log = try w.logEntries()
        #expect(log.map { $0["command"] as? String } == ["upgrade", "config"])
        #expect(w.run(["log", "--verify"]).status == 0)
    }

    @Test func refusalsChangeNothing() throws {
        let w = World()
        #expect(w.run(["init", "--max-keys", "3"]).status == 0)
        try w.create("a")
        try w.create("b")
        try w.create("c")
        for (arguments, code) in [
            (["config", "--max-keys", "2"], ErrorCode.keyLimitReached),
            (["config", "--max-keys", "0"], .usage),
            (["config", "--max-keys", "100001"], .usage),
            (["config", "--max-keys", "-1"], .usage),
            (["config", "--max-keys", "ten"], .usage),
            (["config", "--max-keys", ""], .usage),
            (["config", "--max-keys", "1e3"], .usage),
            (["config", "--max-keys"], .usage),
            (["config", "--prefix", "zz"], .usage),
            (["config", "extra"], .usage),
        ] {
            w.expectRefusal(arguments, code)
        }
        let limit = w.run(["config", "--max-keys", "2"])
        #expect(limit.stderr.contains("3 keys are in use"), "\(limit.stderr)")
        #expect(try object(w.run(["config", "--json"]).stdout)["max_keys"] as? Int == 3)
    }

    @Test func aMissingKeystoreIsNotMade() {
        let w = World()
        w.expectFailure(["config"], .keystoreNotFound)
        w.expectFailure(["config", "--max-keys", "5"], .keystoreNotFound)
        #expect(w.files().isEmpty)
    }
}

@Suite struct PruneCommandTests {
    /// a (active), old (revoked 40 days ago), recent (revoked 20 days ago),
    /// moving (rotated with a 7-day grace: retiring), at t0 + 40 days.
    fileprivate static func world() throws -> (World, [String: World.Created]) {
        let w = World()
        var keys: [String: World.Created] = [:]
        for name in ["a", "old", "recent", "moving"] { keys[name] = try w.create(name) }
        #expect(w.run(["revoke", "old"]).status == 0)
        w.now += 20 * 86400
        #expect(w.run(["revoke", "recent"]).status == 0)
        w.now += 13 * 86400
        #expect(w.run(["rotate", "moving", "--grace", "7d"]).status == 0)
        w.now += 7 * 86400 - 1
        return (w, keys)
    }

    @Test func removesKeysRevokedLongAgoInOneWriteAndOneLogEntry() throws {
        let (w, keys) = try Self.world()
        let old = keys["old"]!
        let entries = try w.logEntries().count
        let r = w.run(["prune", "--revoked-before", "30d", "--json"])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        let removed = try #require(parse(r.stdout) as? [[String: Any]])
        #expect(removed.map { $0["id"] as? String } == [old.id])
        #expect(removed.first?["status"] as? String == "revoked")
        #expect(try w.list().contains { $0["id"] as? String == old.id } == false)
        #expect(try w.list().count == 4, "a, recent, moving (retiring) and its successor stay")
        // verify no longer knows it.
        w.expectAnswer(["verify"], .invalidAPIKey, stdin: old.key + "\n")
        // One entry: the removed key with every value it had, old -> null.
        let log = try w.logEntries()
        #expect(log.count == entries + 1)
        let last = try #require(log.last)
        #expect(last["command"] as? String == "prune")
        let listed = try #require(last["keys"] as? [[String: Any]])
        #expect(listed.map { $0["id"] as? String } == [old.id])
        #expect(listed.first?["name"] as? String == "old" && listed.first?["hint"] as? String == old.record["hint"] as? String)
        let changed = changes(in: last, of: old.id)
        #expect(changed["name"]?.first as? String == "old" && changed["name"]?.last is NSNull)
        #expect(changed["revoked_at"]?.last is NSNull)
        #expect(w.run(["log", "--verify"]).status == 0)
        // Its history stays: `log KEY_ID` finds it by id.
        let history = w.run(["log", old.id])
        #expect(history.status == 0)
        #expect(history.stdout.split(separator: "\n").count == 3, "create, revoke, prune: \(history.stdout)")
    }

    @Test func aRetiringKeyIsNeverPrunedAndZeroTakesEveryRevokedKey() throws {
        let (w, keys) = try Self.world()
        let r = w.run(["prune", "--revoked-before", "0s", "--json"])
        #expect(r.status == 0)
        let removed = try #require(parse(r.stdout) as? [[String: Any]])
        #expect(Set(removed.compactMap { $0["id"] as? String }) == [keys["old"]!.id, keys["recent"]!.id])
        #expect(try w.record(keys["moving"]!.id)["status"] as? String == "retiring")
        // Once its grace is over it is revoked, and prunable.
        w.now += 1
        let later = w.run(["prune", "--revoked-before", "0s", "--json"])
        #expect((parse(later.stdout) as? [[String: Any]])?.map { $0["id"] as? String } == [keys["moving"]!.id])
    }

    @Test func humanOutputIsOneLinePerRecord() throws {
        let (w, keys) = try Self.world()
        let old = keys["old"]!
        let r = w.run(["prune", "--revoked-before", "30d"])
        #expect(r.status == 0)
        #expect(r.stdout == "\(old.id)\told\t\(old.record["hint"] as? String ?? "?")\t\(iso(t0))\n")
        #expect(r.stderr == "keyctl: pruned 1 key revoked 30d ago or earlier; their history stays in 'keyctl log'\n")
    }

    @Test func dryRunPrintsTheSameAndChangesNothing() throws {
        let (w, _) = try Self.world()
        let before = w.snapshot()
        let dry = w.run(["prune", "--revoked-before", "10d", "--dry-run", "--json"])
        #expect(dry.status == 0)
        #expect(w.snapshot() == before, "--dry-run changed a file")
        let human = w.run(["prune", "--revoked-before", "10d", "--dry-run"])
        #expect(human.stderr.contains("dry run: nothing changed"))
        #expect(human.stdout.split(separator: "\n").count == 2)
        #expect(w.snapshot() == before)
        let real = w.run(["prune", "--revoked-before", "10d", "--json"])
        #expect(real.stdout == dry.stdout, "the dry run printed what the prune removes")
    }

    @Test func nothingToPruneWritesNothing() throws {
        let (w, _) = try Self.world()
        let before = w.snapshot()
        let r = w.run(["prune", "--revoked-before", "90d"])
        #expect(r.status == 0 && r.stdout.isEmpty)
        #expect(r.stderr == "keyctl: nothing to prune: no key was revoked 90d ago or earlier\n")
        let json = w.run(["prune", "--revoked-before", "90d", "--json"])
        #expect(json.status == 0 && json.stdout == "[]\n" && json.stderr.isEmpty)
        #expect(w.snapshot() == before, "an empty prune wrote")
    }

    @Test func aSuccessorKeepsItsLinkToAPrunedKey() throws {
        let w = World()
        let a = try w.create("svc")
        let r = w.run(["rotate", "svc", "--json"])
        let new = try #require((try object(r.stdout))["new"] as? [String: Any])
        let key = try #require(new["key"] as? String)
        w.now += 31 * 86400
        #expect(w.run(["prune", "--revoked-before", "30d"]).status == 0)
        let record = try w.record("svc")
        #expect(record["rotated_from"] as? String == a.id, "the link is kept")
        let show = w.run(["show", "svc"])
        #expect(show.status == 0 && show.stdout.contains("rotated_from:  \(a.id)"))
        #expect(w.verify(key) == 0)
        #expect(w.run(["log", a.id]).status == 0)
        w.expectAnswer(["verify"], .invalidAPIKey, stdin: a.key + "\n")
    }

    @Test func aPrunedKeyIsInvalidThoughItsIndexAndStampsWereThere() throws {
        let w = World()
        w.system.indexSettleTime = 0
        let a = try w.create("a")
        try w.create("b")
        #expect(w.verify(a.key) == 0)  // a usage stamp for a
        #expect(w.verify(a.key) == 0)  // answered through the index
        #expect(w.run(["revoke", "a"]).status == 0)
        #expect(w.verify(a.key) == 3)
        #expect(FileManager.default.fileExists(atPath: w.keystore + ".index"))
        w.now += 86400
        #expect(w.run(["prune", "--revoked-before", "1d"]).status == 0)
        w.expectAnswer(["verify"], .invalidAPIKey, stdin: a.key + "\n")
        w.expectAnswer(["verify"], .invalidAPIKey, stdin: a.key + "\n")
    }

    @Test func refusalsChangeNothing() throws {
        let (w, _) = try Self.world()
        for (arguments, code) in [
            (["prune"], ErrorCode.usage),
            (["prune", "--dry-run"], .usage),
            (["prune", "--revoked-before"], .usage),
            (["prune", "--revoked-before", "soon"], .usage),
            (["prune", "--revoked-before", "-1d"], .usage),
            (["prune", "--revoked-before", "99999999w"], .usage),
            (["prune", "--revoked-before", "30d", "old"], .usage),
            (["prune", "--revoked-before", "30d", "--all"], .usage),
        ] {
            w.expectRefusal(arguments, code)
        }
        let missing = World()
        missing.expectFailure(["prune", "--revoked-before", "1d"], .keystoreNotFound)
        #expect(missing.files().isEmpty)
    }

    @Test func undeliverableOutputUndoesThePrune() throws {
        let (w, _) = try Self.world()
        let before = w.snapshot()
        w.stdoutWorks = false
        for arguments in [
            ["prune", "--revoked-before", "30d"], ["prune", "--revoked-before", "30d", "--json"], ["prune", "--revoked-before", "1d", "--dry-run"],
        ] {
            #expect(w.run(arguments).status == ErrorCode.ioError.exitStatus)
            #expect(w.snapshot() == before)
        }
    }
}
