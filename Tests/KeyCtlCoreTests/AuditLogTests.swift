// The audit log (keyctl(1) AUDIT LOG): one entry per change, chained by SHA-256, consistent
// with the keystore's head; every tampering `log --verify` is meant to catch, each
// on its own; a log that does not verify blocks writes but not reads.

import Foundation
import Testing

@testable import KeyCtlCore

/// A keystore in a private directory, run in-process with a fixed clock.
final class LogWorld {
    let directory: String
    let keystore: String
    var log: String { keystore + ".log" }
    var now: Timestamp = 1_800_000_000
    var environment: [String: String] = [:]
    /// The system as keyctl sees it: a test makes a file look foreign through it.
    var system = SystemSeam()
    private var state: UInt64 = 0x10c

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    init() {
        var template = Array((NSTemporaryDirectory() + "/keyctl-log-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        directory = String(cString: made!)
        keystore = directory + "/keystore.json"
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func random(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil) -> Result {
        var env = ["KEYCTL_KEYSTORE": keystore, "HOME": directory]
        for (k, v) in environment { env[k] = v }
        let output = CapturedOutput()
        var context = output.context(
            environment: { env[$0] }, now: { [unowned self] in self.now }, randomBytes: { [unowned self] in self.random($0) },
            readLine: { stdin.map { String($0.prefix { $0 != "\n" }) } })
        context.system = system
        let status = KeyCtl.run(arguments, context: context)
        return Result(status: status, stdout: output.stdoutText, stderr: output.stderrText)
    }

    /// Runs a command that must succeed; its stdout.
    @discardableResult
    func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let r = run(arguments)
        #expect(r.status == 0, "\(arguments): \(r.stderr)", sourceLocation: sourceLocation)
        return r.stdout
    }

    func bytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { [UInt8]($0) } }
    func put(_ path: String, _ bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
    }
    func lines() -> [[UInt8]] { (bytes(log) ?? []).split(separator: 0x0a, omittingEmptySubsequences: false).dropLast().map(Array.init) }
    func putLines(_ lines: [[UInt8]]) { put(log, lines.flatMap { $0 + [0x0a] }) }

    func entries(_ extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let out = ok(["log", "--json"] + extra, sourceLocation: sourceLocation)
        return try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]], sourceLocation: sourceLocation)
    }

    /// Three keys, a rotation and a revocation: six entries.
    func history() {
        ok(["init"])
        ok(["create", "ci"])
        ok(["create", "web", "--permissions", "read,write"])
        ok(["create", "ops"])
        ok(["rotate", "ci"])
        ok(["revoke", "web"])
    }

    /// A failure with `code`, and the keystore and the log byte for byte as they were.
    func refused(_ arguments: [String], _ code: ErrorCode, mentions: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let before = (bytes(keystore), bytes(log))
        let r = run(arguments)
        #expect(r.status == code.exitStatus, "\(arguments): \(r.status) \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(code == .usage ? "see 'keyctl" : "keyctl: "), sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)", sourceLocation: sourceLocation)
        if let mentions { #expect(r.stderr.contains(mentions), "\(r.stderr)", sourceLocation: sourceLocation) }
        let json = run(arguments + ["--json"])
        #expect(json.stderr.contains("\"code\":\"\(code.rawValue)\""), "\(json.stderr)", sourceLocation: sourceLocation)
        #expect(json.stdout.isEmpty, sourceLocation: sourceLocation)
        let same = (bytes(keystore) == before.0, bytes(log) == before.1)
        #expect(same.0, "\(arguments) changed the keystore", sourceLocation: sourceLocation)
        #expect(same.1, "\(arguments) changed the log", sourceLocation: sourceLocation)
    }
}

@Suite struct AuditLogTests {
    @Test func oneEntryPerChangeChainedToTheKeystoresHead() throws {
        let w = LogWorld()
        w.environment["KEYCTL_ACTOR"] = "deploy-job"
        w.ok(["init"])
        let key = w.ok(["create", "ci"]).trimmingCharacters(in: .whitespacesAndNewlines)
        w.ok(["rotate", "ci"])
        w.ok(["show", "ci"])  // reads add nothing
        _ = w.run(["verify"], stdin: key)
        let entries = try w.entries()
        #expect(entries.map { $0["command"] as? String } == ["init", "create", "rotate"])
        #expect(entries.map { $0["seq"] as? Int } == [1, 2, 3])
        #expect(entries[0]["prev"] is NSNull)
        #expect(entries.allSatisfy { $0["actor"] as? String == "deploy-job" && $0["uid"] as? Int == Int(geteuid()) })
        #expect(entries.allSatisfy { $0["time"] as? String == "2027-01-15T08:00:00Z" })
        let rotated = try #require(entries[2]["keys"] as? [[String: Any]])
        #expect(rotated.count == 2)
        let changes = try #require(rotated[0]["changes"] as? [String: [Any]])
        #expect(changes["revoked_at"]?[0] is NSNull && changes["revoked_at"]?[1] as? String == "2027-01-15T08:00:00Z")
        #expect(Set(changes.keys) == ["revoked_at", "rotated_to"], "only what changed: \(changes.keys)")
        // The chain: each prev is the SHA-256 of the line before; the keystore records the last.
        let lines = w.lines()
        #expect(lines.count == 3)
        for i in 1..<lines.count {
            #expect(entries[i]["prev"] as? String == Hex.encode(SHA256.hash(lines[i - 1])))
        }
        let head = Hex.encode(SHA256.hash(lines[2]))
        let stored = String(decoding: w.bytes(w.keystore)!, as: UTF8.self)
        #expect(stored.contains("\"log\":{\"seq\":3,\"hash\":\"\(head)\",\"size\":\(w.bytes(w.log)!.count),"))
        let verified = w.run(["log", "--verify"])
        #expect(verified.status == 0 && verified.stdout == head + "\n", "\(verified)")
        // Never a secret, nor a digest.
        let text = String(decoding: w.bytes(w.log)!, as: UTF8.self)
        #expect(!text.contains(key) && !text.contains(String(key.suffix(20))))
        #expect(!stored.split(separator: "\"digest\":\"").dropFirst().contains { text.contains($0.prefix(64)) })
        var st = stat()
        #expect(stat(w.log, &st) == 0 && st.st_mode & 0o777 == 0o600)
    }

    @Test func humanOutputAndFilters() throws {
        let w = LogWorld()
        w.history()
        let all = w.ok(["log"]).split(separator: "\n")
        #expect(all.count == 6)
        #expect(all[1].contains("\tcreate\tcreated key_") && all[1].contains("(ci)"))
        #expect(all[4].contains("\trotate\t") && all[4].contains("revoked_at - -> 2027-01-15T08:00:00Z"))
        let web = w.ok(["log", "web"]).split(separator: "\n")
        #expect(web.count == 2, "\(web)")
        w.now += 3 * 86400
        w.ok(["create", "late"])
        #expect(try w.entries(["--since", "1d"]).count == 1)
        w.refused(["log", "--since", "soon"], .usage)
        w.refused(["log", "--verify", "--since", "1d"], .usage)
        w.refused(["log", "nobody"], .notFound)
    }

    @Test func upgradeOfAVersion1KeystoreSnapshotsEveryKey() throws {
        let w = LogWorld()
        let v1 = """
            {"version":1,"prefix":"ak","max_keys":10,"keys":[
            {"id":"key_a1","name":"old","digest":"\(String(repeating: "a", count: 64))","hint":"ak_live_…AAAA","environment":"live","permissions":["read"],"created_at":"2026-01-01T00:00:00Z","expires_at":null,"revoked_at":null,"last_used_at":null,"rotated_from":null,"rotated_to":null}
            ]}

            """
        w.put(w.keystore, Array(v1.utf8))
        w.ok(["list"])
        #expect(w.bytes(w.log) == nil, "a read writes no log")
        w.ok(["create", "new"])
        let entries = try w.entries()
        #expect(entries.map { $0["command"] as? String } == ["upgrade", "create"])
        let snapshot = try #require(entries[0]["keys"] as? [[String: Any]])
        #expect(snapshot.map { $0["id"] as? String } == ["key_a1"])
        let settings = try #require(entries[0]["settings"] as? [String: [Any]])
        #expect(settings["version"]?[0] as? Int == 1 && settings["version"]?[1] as? Int == 2)
        #expect(w.run(["log", "--verify"]).status == 0)
    }

    /// Each tampering on its own: `log --verify` fails naming the entry, writes are
    /// refused and change nothing, reads keep working.
    @Test(arguments: [
        "edited", "edited last", "removed", "swapped", "appended by hand", "duplicated", "truncated mid-entry", "cut short",
        "deleted", "head edited", "head seq edited", "emptied", "first removed",
    ])
    func tamperingIsCaught(_ how: String) throws {
        let w = LogWorld()
        w.history()
        let key = w.ok(["create", "spare"]).trimmingCharacters(in: .whitespacesAndNewlines)
        var lines = w.lines()
        #expect(lines.count == 7)
        var expected = ""
        func edit(_ i: Int) {
            var text = String(decoding: lines[i], as: UTF8.self)
            text = text.replacingOccurrences(of: "\"root\"", with: "\"mallory\"").replacingOccurrences(of: "\"uid\":", with: "\"uid\":1")
            lines[i] = Array(text.utf8)
        }
        switch how {
        case "edited":
            edit(2)
            expected = "entry 4"
        case "edited last":
            edit(6)
            expected = "entry 7"
        case "removed":
            lines.remove(at: 3)
            expected = "line 4 holds entry 5"
        case "swapped":
            lines.swapAt(2, 3)
            expected = "line 3 holds entry 4"
        case "appended by hand":
            lines.append(Array("{\"seq\":8,\"prev\":null}".utf8))
            expected = "line 8"
        case "duplicated":
            lines.append(lines[6])
            expected = "line 8"
        case "first removed":
            lines.removeFirst()
            expected = "line 1 holds entry 2"
        default:
            break
        }
        switch how {
        case "truncated mid-entry":
            let all = w.bytes(w.log)!
            w.put(w.log, Array(all.prefix(all.count - lines[6].count / 2)))
            expected = "middle of entry 7"
        case "cut short":
            w.putLines(Array(lines.prefix(5)))
            expected = "after entry 5"
        case "deleted":
            unlink(w.log)
            expected = "missing"
        case "emptied":
            w.put(w.log, [])
            expected = "ends after entry 0"
        case "head edited", "head seq edited":
            var text = String(decoding: w.bytes(w.keystore)!, as: UTF8.self)
            let head = Hex.encode(SHA256.hash(lines[6]))
            if how == "head edited" {
                text = text.replacingOccurrences(of: head, with: String(head.reversed()))
                expected = "entry 7"
            } else {
                text = text.replacingOccurrences(of: "\"seq\":7", with: "\"seq\":6")
                expected = "entry 6"
            }
            w.put(w.keystore, Array(text.utf8))
        default:
            w.putLines(lines)
        }
        let verify = w.run(["log", "--verify"])
        #expect(verify.status == 65, "\(how): \(verify)")
        #expect(verify.stderr.contains(expected), "\(how): \(verify.stderr)")
        #expect(w.run(["log", "--verify", "--json"]).stderr.contains("\"code\":\"LOG_CORRUPT\""))
        #expect(verify.stdout.isEmpty)
        w.refused(["log"], .logCorrupt)
        for write in [["create", "x"], ["revoke", "ops"], ["rotate", "ops"]] {
            w.refused(write, .logCorrupt, mentions: "restore the log")
        }
        // Reads and verify keep working.
        #expect(w.run(["list"]).status == 0)
        #expect(w.run(["show", "ops"]).status == 0)
        #expect(w.run(["verify"], stdin: key).status == 0)
    }

    /// What a write killed between its log append and its keystore rename leaves: a
    /// whole or partial entry past the head. Not part of the log: not shown, verify
    /// passes (with a note), and the next write cuts it before appending.
    @Test(arguments: [false, true])
    func leftoverOfAnInterruptedWrite(partial: Bool) throws {
        let w = LogWorld()
        w.history()
        let keystoreBefore = w.bytes(w.keystore)!
        let logBefore = w.bytes(w.log)!
        w.ok(["create", "ghost"])
        var leftover = Array(w.bytes(w.log)![logBefore.count...])
        if partial { leftover = Array(leftover.prefix(leftover.count / 2)) }
        w.put(w.keystore, keystoreBefore)
        w.put(w.log, logBefore + leftover)
        let verify = w.run(["log", "--verify"])
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stderr.contains("left from a write that did not finish"))
        #expect(try w.entries().count == 6)
        #expect(!w.ok(["log"]).contains("ghost"))
        w.ok(["create", "real"])
        let entries = try w.entries()
        #expect(entries.count == 7)
        #expect(!String(decoding: w.bytes(w.log)!, as: UTF8.self).contains("ghost"))
        #expect(w.run(["log", "--verify"]).stderr.contains("left from") == false)
    }

    @Test func aLogWithoutAKeystoreHeadIsNotTakenOver() throws {
        let w = LogWorld()
        w.history()
        let log = w.bytes(w.log)!
        unlink(w.keystore)
        w.refused(["init"], .logCorrupt)
        #expect(w.bytes(w.log) == log)
    }

    @Test func ioErrorsTakeTheEntryBackOut() throws {
        let w = LogWorld()
        w.history()
        for step in ["written", "synced"] {
            let before = (w.bytes(w.keystore), w.bytes(w.log))
            var context = Context(
                environment: { ["KEYCTL_KEYSTORE": w.keystore][$0] }, now: { 1_800_000_000 }, randomBytes: w.random, readLine: { nil },
                writeStdout: { _ in true }, writeStderr: { _ in true })
            context.faultInjection = { if $0 == step { throw KeyCtlError(.ioError, "injected") } }
            #expect(KeyCtl.run(["create", "x"], context: context) == 74)
            #expect(w.bytes(w.keystore) == before.0 && w.bytes(w.log) == before.1, "\(step)")
        }
        // A key nobody saw is not kept: nor is its entry.
        let before = (w.bytes(w.keystore), w.bytes(w.log))
        let context = Context(
            environment: { ["KEYCTL_KEYSTORE": w.keystore][$0] }, now: { 1_800_000_000 }, randomBytes: w.random, readLine: { nil },
            writeStdout: { _ in false }, writeStderr: { _ in true })
        #expect(KeyCtl.run(["create", "x"], context: context) == 74)
        #expect(w.bytes(w.keystore) == before.0 && w.bytes(w.log) == before.1)
        #expect(w.run(["log", "--verify"]).status == 0)
    }

    @Test func hostileLogFiles() throws {
        let w = LogWorld()
        w.history()
        let log = w.bytes(w.log)!
        unlink(w.log)
        symlink(w.directory + "/elsewhere", w.log)
        w.refused(["create", "x"], .permissionDenied, mentions: "symbolic link")
        #expect(!FileManager.default.fileExists(atPath: w.directory + "/elsewhere"))
        unlink(w.log)
        w.put(w.log, log)
        chmod(w.log, 0o620)
        w.refused(["create", "x"], .permissionDenied, mentions: "chmod 600")
        w.refused(["log"], .permissionDenied)
        chmod(w.log, 0o602)
        w.refused(["create", "x"], .permissionDenied, mentions: "chmod 600")
        chmod(w.log, 0o600)
        // Another user's log (made so by the seam, so this runs unprivileged too).
        let path = w.log
        w.system.statusOverride = { seen, st in if seen == path { st.st_uid = st.st_uid == 4242 ? 4243 : 4242 } }
        w.refused(["create", "x"], .permissionDenied)
        w.refused(["log", "--verify"], .permissionDenied)
        w.system.statusOverride = nil
        w.ok(["create", "x"])
        // The log keyctl made: 0600, the keystore owner's.
        var st = stat()
        #expect(lstat(w.log, &st) == 0 && st.st_mode & 0o777 == 0o600 && st.st_uid == geteuid())
    }

    /// A description is a field like any other: logged when set, and carried by rotate.
    @Test func descriptionsAreLogged() throws {
        let w = LogWorld()
        w.ok(["create", "ci", "--description", "the CI runner"])
        w.ok(["rotate", "ci"])
        let entries = try w.entries()
        func pair(_ value: Any?) -> [String] { (value as? [Any] ?? []).map { $0 is NSNull ? "null" : "\($0)" } }
        func changes(_ command: String) -> [[String: Any]] {
            entries.filter { $0["command"] as? String == command }.flatMap { $0["keys"] as? [[String: Any]] ?? [] }
                .compactMap { $0["changes"] as? [String: Any] }
        }
        #expect(changes("create").map { pair($0["description"]) } == [["null", "the CI runner"]], "\(entries)")
        let successor = try #require(changes("rotate").first { $0["rotated_from"] != nil })
        #expect(pair(successor["description"]) == ["null", "the CI runner"], "\(successor)")
    }

    @Test func userNamesComeFromThePasswdFile() {
        let passwd = Array("# comment\nroot:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbad\n::7:7\nbob:x:1000:1:::\n".utf8)
        #expect(UserNames.name(of: 0, inPasswd: passwd) == "root")
        #expect(UserNames.name(of: 1000, inPasswd: passwd) == "alice")
        #expect(UserNames.name(of: 7, inPasswd: passwd) == nil)
        #expect(UserNames.name(of: 4242, inPasswd: passwd) == nil)
        #expect(UserNames.name(of: 0, passwd: "/nonexistent/passwd") == nil)
        let line = LogCommand.line(
            AuditEntry(seq: 1, prev: nil, time: 0, uid: 4242, user: nil, actor: "ci\u{1b}[2J", command: "init", keys: [], settings: []))
        #expect(line.contains("uid 4242 (no name in /etc/passwd) as ci\\u{1b}[2J"), "\(line)")
        // KEYCTL_TRUSTED_OWNER by name goes through the same parser.
        #expect(UserNames.uid(named: "alice", inPasswd: passwd) == 1000)
        #expect(UserNames.uid(named: "bad", inPasswd: passwd) == nil)
        #expect(UserNames.uid(named: "nobody-here", inPasswd: passwd) == nil)
        #expect(UserNames.uid(named: "root") == 0)
    }
}
