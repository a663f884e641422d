// Every command and rule of keyctl, run in-process through KeyCtl.run with a
// fixed clock, a deterministic random source and a keystore in a private temporary
// directory. Every failure is checked three ways: the exit status, the error's
// shape (one human line, or {"error":{…}} on stderr with --json and nothing on
// stdout), and a keystore byte-for-byte unchanged (or still absent).

import Foundation
import Testing

@testable import KeyCtlCore

struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A private directory, a clock and a random source; `run` is one keyctl invocation.
final class World {
    let directory: String
    var keystore: String
    /// 2027-01-15T08:00:00Z
    var now: Timestamp = 1_800_000_000
    var environment: [String: String] = [:]
    var faultInjection: ((String) throws -> Void)?
    /// The user id, clocks and file-system answers the run sees.
    var system = SystemSeam()
    var stdoutWorks = true
    /// Whether stdout is a terminal (list prints its table) or a pipe (tabs).
    var terminal = false
    private var state: UInt64

    init(seed: UInt64 = 0x5eed) {
        var template = Array((NSTemporaryDirectory() + "/keyctl-core-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        directory = String(cString: made!)
        keystore = directory + "/keystore.json"
        state = seed
    }

    deinit {
        chmod(directory, 0o700)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// SplitMix64: deterministic, and different for every call.
    func random(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { out.append(contentsOf: $0.prefix(count - out.count)) }
        }
        return out
    }

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, env extra: [String: String] = [:]) -> Output {
        var env = ["KEYCTL_KEYSTORE": keystore, "HOME": directory]
        for (k, v) in environment { env[k] = v }
        for (k, v) in extra { env[k] = v }
        var out: [UInt8] = []
        var err: [UInt8] = []
        let works = stdoutWorks
        var context = Context(
            environment: { env[$0] },
            now: { [unowned self] in self.now },
            randomBytes: { [unowned self] in self.random($0) },
            readLine: {
                guard let stdin, !stdin.isEmpty else { return nil }
                return String(stdin.prefix { $0 != "\n" })
            },
            writeStdout: { bytes in
                guard works else { return false }
                out += bytes
                return true
            },
            writeStderr: {
                err += $0; return true
            }, stdoutIsTerminal: terminal)
        context.system = system
        context.faultInjection = faultInjection
        let status = KeyCtl.run(arguments, context: context)
        return Output(status: status, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    func bytes() -> [UInt8]? {
        FileManager.default.contents(atPath: keystore).map { [UInt8]($0) }
    }

    func write(_ text: String) {
        _ = FileManager.default.createFile(atPath: keystore, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
    }

    func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    // MARK: Helpers that expect success

    struct Created {
        var key: String
        var id: String
        var record: [String: Any]
    }

    /// `create NAME` with --json; the key, its id and its record.
    @discardableResult
    func create(_ name: String, _ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> Created {
        let r = run(["--json", "create", name] + options)
        try #require(r.status == 0, "create \(name): \(r.stderr)", sourceLocation: sourceLocation)
        let record = try object(r.stdout, sourceLocation: sourceLocation)
        return Created(key: try #require(record["key"] as? String), id: try #require(record["id"] as? String), record: record)
    }

    func record(_ reference: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let r = run(["show", reference, "--json"])
        try #require(r.status == 0, "show \(reference): \(r.stderr)", sourceLocation: sourceLocation)
        return try object(r.stdout, sourceLocation: sourceLocation)
    }

    func list(_ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let r = run(["list", "--json", "--all"] + options)
        try #require(r.status == 0, "list: \(r.stderr)", sourceLocation: sourceLocation)
        return try #require(parse(r.stdout) as? [[String: Any]], sourceLocation: sourceLocation)
    }

    func names(_ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try list(options, sourceLocation: sourceLocation).map { $0["name"] as? String ?? "?" }
    }

    func verify(_ key: String, _ options: [String] = []) -> Int32 {
        run(["verify"] + options, stdin: key + "\n").status
    }

    // MARK: Failure checks

    /// Runs `arguments` twice, as a person and with --json, and checks that both fail
    /// with `code`, its exit status and error shape, leaving the keystore as it was.
    /// Returns the human line and the JSON message.
    @discardableResult
    func expectFailure(
        _ arguments: [String], _ code: ErrorCode, stdin: String? = nil, env: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> (line: String, message: String) {
        let before = bytes()
        let human = run(arguments, stdin: stdin, env: env)
        #expect(human.status == code.exitStatus, "\(arguments): \(human.stderr)", sourceLocation: sourceLocation)
        #expect(human.stdout.isEmpty, "\(arguments) printed \(human.stdout)", sourceLocation: sourceLocation)
        // A command line that asks for --json itself gets the JSON error both times.
        let asksForJSON = arguments.prefix { $0 != "--" }.contains("--json")
        #expect(human.stderr.hasPrefix(asksForJSON ? "{\"error\":" : "keyctl: "), "\(human.stderr)", sourceLocation: sourceLocation)
        #expect(
            human.stderr.hasSuffix("\n") && human.stderr.filter { $0 == "\n" }.count == 1,
            "one line: \(human.stderr.debugDescription)", sourceLocation: sourceLocation)
        #expect(bytes() == before, "\(arguments) changed the keystore", sourceLocation: sourceLocation)

        let machine = run(["--json"] + arguments, stdin: stdin, env: env)
        #expect(machine.status == code.exitStatus, "--json \(arguments): \(machine.stderr)", sourceLocation: sourceLocation)
        #expect(machine.stdout.isEmpty, "--json \(arguments) printed \(machine.stdout)", sourceLocation: sourceLocation)
        var message = ""
        if let top = parse(machine.stderr) as? [String: Any], top.count == 1, let error = top["error"] as? [String: Any] {
            #expect(Set(error.keys) == ["code", "message"], sourceLocation: sourceLocation)
            #expect(error["code"] as? String == code.rawValue, "\(error)", sourceLocation: sourceLocation)
            message = error["message"] as? String ?? ""
            #expect(!message.isEmpty, sourceLocation: sourceLocation)
        } else {
            Issue.record("not a JSON error: \(machine.stderr.debugDescription)", sourceLocation: sourceLocation)
        }
        #expect(bytes() == before, "--json \(arguments) changed the keystore", sourceLocation: sourceLocation)
        return (human.stderr, message)
    }

    /// verify's negative answers: exit status, one line on stderr, or
    /// {"valid":false,"code","message"} on stdout with --json; the keystore unchanged.
    func expectAnswer(
        _ arguments: [String], _ code: ErrorCode, stdin: String? = nil, env: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let before = bytes()
        let human = run(arguments, stdin: stdin, env: env)
        #expect(human.status == code.exitStatus, "\(arguments): \(human.stderr)", sourceLocation: sourceLocation)
        #expect(human.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(
            human.stderr.hasPrefix("keyctl: ") && human.stderr.filter { $0 == "\n" }.count == 1, "\(human.stderr)",
            sourceLocation: sourceLocation)
        let machine = run(arguments + ["--json"], stdin: stdin, env: env)
        #expect(machine.status == code.exitStatus, sourceLocation: sourceLocation)
        #expect(machine.stderr.isEmpty, "\(machine.stderr)", sourceLocation: sourceLocation)
        let answer = parse(machine.stdout) as? [String: Any]
        #expect(answer?["valid"] as? Bool == false, "\(machine.stdout)", sourceLocation: sourceLocation)
        #expect(answer?["code"] as? String == code.rawValue, "\(machine.stdout)", sourceLocation: sourceLocation)
        #expect((answer?["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        // A key keyctl recognised (expired, revoked, forbidden) is named (keyctl(1) Output).
        let recognised: Set<String> = [.expiredAPIKey, .revokedAPIKey, .forbidden].contains(code) ? ["id", "name", "expires_at", "revoked_at"] : []
        #expect(answer.map { Set($0.keys) } == Set(["valid", "code", "message"]).union(recognised), sourceLocation: sourceLocation)
        #expect(bytes() == before, "verify changed the keystore", sourceLocation: sourceLocation)
        for secret in [stdin, env.values.first].compactMap({ $0?.trimmingCharacters(in: .whitespacesAndNewlines) }) where secret.count >= 12 {
            #expect(!human.stderr.contains(secret) && !machine.stdout.contains(secret), "the key was echoed", sourceLocation: sourceLocation)
        }
    }
}

func parse(_ text: String) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    try #require(parse(text) as? [String: Any], "not a JSON object: \(text)", sourceLocation: sourceLocation)
}

func mode(_ path: String) -> mode_t {
    var st = stat()
    guard lstat(path, &st) == 0 else { return 0 }
    return st.st_mode & 0o7777
}

let t0: Timestamp = 1_800_000_000
func iso(_ t: Timestamp) -> String { RFC3339.format(t) }
fileprivate let recordFields: Set<String> = [
    "id", "name", "description", "hint", "environment", "permissions", "status", "created_at", "expires_at", "revoked_at",
    "last_used_at", "rotated_from", "rotated_to",
]

// MARK: - init

@Suite struct InitCommandTests {
    @Test func createsAnEmptyKeystoreWithSafeModes() throws {
        let w = World()
        w.keystore = w.directory + "/a/b/keystore.json"
        let r = w.run(["init"])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty, "stdout carries data only")
        #expect(r.stderr.contains("created keystore"))
        #expect(mode(w.directory + "/a") == 0o700)
        #expect(mode(w.directory + "/a/b") == 0o700)
        #expect(mode(w.keystore) == 0o600)
        let stored = try object(String(decoding: try #require(w.bytes()), as: UTF8.self))
        #expect(stored["version"] as? Int == 2)
        #expect(stored["prefix"] as? String == "ak")
        #expect(stored["max_keys"] as? Int == 10)
        #expect((stored["keys"] as? [Any])?.isEmpty == true)
        #expect(try w.list().isEmpty)
    }

    @Test func jsonAndOptions() throws {
        let w = World()
        let r = w.run(["init", "--prefix", "xy9", "--max-keys=3", "--json"])
        #expect(r.status == 0)
        let answer = try object(r.stdout)
        #expect(answer["keystore"] as? String == w.keystore)
        #expect(answer["version"] as? Int == 2)
        #expect(answer["prefix"] as? String == "xy9")
        #expect(answer["max_keys"] as? Int == 3)
        let key = try w.create("ci").key
        #expect(key.hasPrefix("xy9_live_"))
        #expect(try w.record("ci")["hint"] as? String == "xy9_live_\u{2026}" + key.suffix(4))
        try w.create("b")
        try w.create("c")
        w.expectFailure(["create", "d"], .keyLimitReached)
    }

    @Test func aSecondInitIsKeystoreExists() throws {
        let w = World()
        #expect(w.run(["init"]).status == 0)
        try w.create("ci")
        let (line, _) = w.expectFailure(["init"], .keystoreExists)
        #expect(line.contains(w.keystore))
        w.expectFailure(["init", "--prefix", "zz", "--max-keys", "5"], .keystoreExists)
    }

    @Test(arguments: [
        ["init", "--prefix", "A"], ["init", "--prefix", "a"], ["init", "--prefix", "abcdefghijk"], ["init", "--prefix", "a_b"],
        ["init", "--prefix="], ["init", "--max-keys", "0"], ["init", "--max-keys", "x"], ["init", "--max-keys", "100001"],
        ["init", "--max-keys", "-1"], ["init", "extra"], ["init", "--prefix"],
    ])
    func usageErrorsCreateNothing(_ argv: [String]) {
        let w = World()
        let (line, _) = w.expectFailure(argv, .usage)
        #expect(line.contains("--help"))
        #expect(w.files().isEmpty)
    }
}

// MARK: - create

@Suite struct CreateCommandTests {
    @Test func printsTheKeyAloneAndStoresOnlyItsDigest() throws {
        let w = World()
        let r = w.run(["create", "ci"])
        #expect(r.status == 0)
        let key = String(r.stdout.dropLast())
        #expect(r.stdout == key + "\n" && !key.contains("\n"), "exactly one line: the key")
        #expect(key.hasPrefix("ak_live_") && key.count == "ak_live_".count + 38)
        #expect((try? APIKey.parse(key).get()) != nil)
        #expect(r.stderr.contains("only once"))
        #expect(!r.stderr.contains(key))
        // A missing keystore is made, 0600 in a 0700 directory.
        #expect(mode(w.keystore) == 0o600)
        let stored = String(decoding: try #require(w.bytes()), as: UTF8.self)
        #expect(!stored.contains(key))
        #expect(!stored.contains(String(key.dropFirst(8).prefix(12))))
        #expect(stored.contains(Hex.encode(SHA256.hash(Array(key.utf8)))))
        #expect(stored.contains("ak_live_\u{2026}" + key.suffix(4)))

        let record = try w.record("ci")
        #expect(Set(record.keys) == recordFields)
        #expect(record["name"] as? String == "ci")
        #expect(record["environment"] as? String == "live")
        #expect(record["permissions"] as? [String] == ["read"])
        #expect(record["status"] as? String == "active")
        #expect(record["created_at"] as? String == iso(t0))
        #expect(record["expires_at"] is NSNull)
        #expect(record["revoked_at"] is NSNull)
        #expect(record["last_used_at"] is NSNull)
        #expect(record["hint"] as? String == "ak_live_\u{2026}" + key.suffix(4))
        #expect((record["id"] as? String)?.hasPrefix("key_") == true)
        #expect(w.verify(key) == 0)
    }

    @Test func createMakesMissingDirectories() throws {
        let w = World()
        w.keystore = w.directory + "/x/y/keystore.json"
        try w.create("ci")
        #expect(mode(w.directory + "/x") == 0o700)
        #expect(mode(w.directory + "/x/y") == 0o700)
        #expect(mode(w.keystore) == 0o600)
    }

    @Test func jsonRecordCarriesTheKeyOnce() throws {
        let w = World()
        let c = try w.create("deploy", ["--permissions", "write,admin", "--env", "test", "--expires-in", "1d12h"])
        #expect(Set(c.record.keys) == recordFields.union(["key"]))
        #expect(c.key.hasPrefix("ak_test_"))
        #expect(c.record["environment"] as? String == "test")
        #expect(c.record["permissions"] as? [String] == ["write", "admin"])
        #expect(c.record["expires_at"] as? String == iso(t0 + 129_600))
        #expect(c.record["status"] as? String == "active")
        // Shown once: never again in show or list.
        let show = w.run(["show", c.id, "--json"])
        #expect(!show.stdout.contains(c.key) && !show.stdout.contains("\"key\""))
    }

    @Test func expiresAt() throws {
        let w = World()
        let a = try w.create("a", ["--expires-at", "2027-06-15T08:00:00Z"])
        #expect(a.record["expires_at"] as? String == "2027-06-15T08:00:00Z")
        let b = try w.create("b", ["--expires-at=2027-06-15T10:00:00+02:00"])
        #expect(b.record["expires_at"] as? String == "2027-06-15T08:00:00Z", "printed in UTC")
        let c = try w.create("c", ["--permissions", "read", "--permissions", "webhook"])
        #expect(c.record["permissions"] as? [String] == ["read", "webhook"])
    }

    @Test(arguments: [
        ("raw", ""), ("bearer", "Authorization: Bearer "), ("basic", "Authorization: Basic "),
        ("x-api-key", "x-api-key: "), ("env", "KEYCTL_API_KEY="),
    ])
    func formats(format: String, lead: String) throws {
        let w = World()
        let r = w.run(["create", "ci", "--format", format])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix(lead) && r.stdout.hasSuffix("\n") && r.stdout.filter { $0 == "\n" }.count == 1, "\(r.stdout)")
        var key = String(r.stdout.dropFirst(lead.count).dropLast())
        if format == "basic" {
            let decoded = try #require(Data(base64Encoded: key))
            key = String(decoding: decoded, as: UTF8.self)
        }
        #expect((try? APIKey.parse(key).get()) != nil, "\(key)")
        #expect(w.verify(key) == 0)
    }

    @Test(arguments: [
        ["create"], ["create", ""], ["create", "a\nb"], ["create", "tab\there"], ["create", String(repeating: "n", count: 101)],
        ["create", "ci", "--env", "prod"], ["create", "ci", "--permissions", "read,bogus"], ["create", "ci", "--permissions", ""],
        ["create", "ci", "--expires-in", "5"], ["create", "ci", "--expires-in", "0s"], ["create", "ci", "--expires-in", "1d1d"],
        ["create", "ci", "--expires-in", "101y"], ["create", "ci", "--expires-at", "2026-01-01T00:00:00Z"],
        ["create", "ci", "--expires-at", "2027-01-15T08:00:00Z"], ["create", "ci", "--expires-at", "tomorrow"],
        ["create", "ci", "--expires-in", "1d", "--expires-at", "2028-01-01T00:00:00Z"], ["create", "ci", "--format", "pem"],
        ["create", "ci", "--format", "raw", "--json"], ["create", "ci", "--format", "bearer", "--json"],
        ["create", "ci", "extra"], ["create", "ci", "--bogus"], ["create", "ci", "--expires-in"],
    ])
    func usageErrors(_ argv: [String]) throws {
        // On a missing keystore: nothing is created.
        let fresh = World()
        let (line, _) = fresh.expectFailure(argv, .usage)
        #expect(line.contains("--help"))
        #expect(fresh.files().isEmpty)
        // On an existing one: nothing changes.
        let w = World()
        try w.create("other")
        w.expectFailure(argv, .usage)
        #expect(try w.list().count == 1)
    }

    @Test func namesUpTo100CharactersAnyScript() throws {
        let w = World()
        try w.create(String(repeating: "name ", count: 20))  // 100 characters, no run of 24 letters (a secret's shape)
        try w.create("café ☕ / prod")
        #expect(try w.record("café ☕ / prod")["name"] as? String == "café ☕ / prod")
    }

    @Test func nameTaken() throws {
        let w = World()
        let a = try w.create("ci", ["--expires-in", "1h"])
        try w.create("other")
        let (line, _) = w.expectFailure(["create", "ci"], .nameTaken)
        #expect(line.contains("'ci'"))
        // An expired key still owns its name.
        w.now += 7200
        #expect(try w.record("ci")["status"] as? String == "expired")
        w.expectFailure(["create", "ci"], .nameTaken)
        // A revoked one does not.
        #expect(w.run(["revoke", a.id]).status == 0)
        let b = try w.create("ci")
        #expect(try w.record("ci")["id"] as? String == b.id)
        // After a rotation the new key owns the name.
        #expect(w.run(["rotate", "ci", "--grace", "1h"]).status == 0)
        w.expectFailure(["create", "ci"], .nameTaken)
    }

    @Test func keyLimit() throws {
        let w = World()
        #expect(w.run(["init", "--max-keys", "3"]).status == 0)
        let a = try w.create("a", ["--expires-in", "1h"])
        let b = try w.create("b")
        try w.create("c")
        let (line, message) = w.expectFailure(["create", "d"], .keyLimitReached)
        #expect(line.contains("revoke"), "says how to free a slot: \(line)")
        #expect(message.contains("revoke"))
        // Expired keys count until revoked.
        w.now += 7200
        w.expectFailure(["create", "d"], .keyLimitReached)
        #expect(w.run(["revoke", a.id]).status == 0)
        try w.create("d")
        w.expectFailure(["create", "e"], .keyLimitReached)
        // Rotating at the limit is allowed; the retiring key does not count.
        #expect(w.run(["rotate", "b", "--grace", "1d"]).status == 0)
        #expect(try w.record(b.id)["status"] as? String == "retiring")
        w.expectFailure(["create", "e"], .keyLimitReached)
        #expect(w.run(["revoke", "c"]).status == 0)
        try w.create("e")
        #expect(try w.list(["--status", "active,expired"]).count == 3)
    }

    @Test func theDefaultLimitIsTen() throws {
        let w = World()
        for i in 0..<10 { try w.create("k\(i)") }
        w.expectFailure(["create", "k10"], .keyLimitReached)
    }

    @Test func anUnprintableKeyIsNotKept() throws {
        // The key could not be shown, so it must not take a slot.
        let w = World()
        try w.create("a")
        let before = w.bytes()
        w.stdoutWorks = false
        let r = w.run(["create", "b"])
        #expect(r.status == ErrorCode.ioError.exitStatus)
        #expect(r.stderr.hasPrefix("keyctl: "))
        #expect(w.bytes() == before)
        let fresh = World()
        fresh.stdoutWorks = false
        #expect(fresh.run(["create", "b"]).status == ErrorCode.ioError.exitStatus)
        #expect(fresh.bytes() == nil)
        let rotate = w.run(["rotate", "a"])
        #expect(rotate.status == ErrorCode.ioError.exitStatus)
        #expect(w.bytes() == before)
    }
}

// MARK: - list and show

@Suite struct ListShowTests {
    @Test func newestFirstAndAligned() throws {
        let w = World()
        try w.create("first")
        w.now += 10
        try w.create("second-with-a-long-name", ["--permissions", "read,write,webhook", "--expires-in", "30d"])
        try w.create("third", ["--env", "test"])  // same second: made later, listed first
        #expect(try w.names() == ["third", "second-with-a-long-name", "first"])

        w.terminal = true
        w.environment["NO_COLOR"] = "1"
        let r = w.run(["list"])
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
        #expect(lines.count == 5 && lines.last?.isEmpty == true, "header, three rows, final newline")
        let header = String(lines[0])
        let columns = ["ID", "NAME", "ENV", "PERMISSIONS", "STATUS", "CREATED", "EXPIRES", "LAST USED"]
        let starts = try columns.map { c in try #require(header.range(of: c)).lowerBound.utf16Offset(in: header) }
        #expect(starts == starts.sorted() && starts[0] == 0, "\(header)")
        let expected: [[String]] = [
            ["third", "test", "read", "active", iso(t0 + 10), "never", "never"],
            ["second-with-a-long-name", "live", "read,write,webhook", "active", iso(t0 + 10), iso(t0 + 10 + 30 * 86400), "never"],
            ["first", "live", "read", "active", iso(t0), "never", "never"],
        ]
        for (row, cells) in zip(lines[1...3], expected) {
            #expect(String(row).hasPrefix("key_"))
            for (column, cell) in zip(starts.dropFirst(), cells) {
                #expect(row.count > column, "\(String(row))")
                guard row.count > column else { continue }
                #expect(row[column - 1] == " " && row[column - 2] == " ", "two spaces before column \(column): \(String(row))")
                #expect(String(row[column...]).hasPrefix(cell), "'\(cell)' at \(column) in \(String(row))")
            }
        }
        #expect(!r.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
    }

    @Test func filters() throws {
        let w = World()
        let a = try w.create("a", ["--expires-in", "1h"])
        try w.create("b", ["--expires-in", "10d"])
        try w.create("c")
        let d = try w.create("d")
        let e = try w.create("e")
        #expect(w.run(["revoke", "d"]).status == 0)
        #expect(w.run(["rotate", "e", "--grace", "1d"]).status == 0)
        w.now += 7200
        #expect(try w.record(a.id)["status"] as? String == "expired")
        #expect(try w.record(d.id)["status"] as? String == "revoked")
        #expect(try w.record(e.id)["status"] as? String == "retiring")

        #expect(try w.names(["--status", "expired"]) == ["a"])
        #expect(try w.names(["--status", "active"]) == ["e", "c", "b"])
        #expect(try w.names(["--status", "retiring"]) == ["e"])
        #expect(try w.list(["--status", "retiring"]).first?["id"] as? String == e.id)
        #expect(try w.names(["--status", "revoked"]) == ["d"])
        #expect(try w.names(["--status=active,revoked"]) == ["e", "d", "c", "b"])
        #expect(try w.names(["--status", "active", "--status", "expired"]) == ["e", "c", "b", "a"])
        #expect(try w.names(["--expiring-within", "2d"]) == ["a"])
        #expect(try w.names(["--expiring-within", "11d"]) == ["b", "a"])
        #expect(try w.names(["--expiring-within", "0s"]) == ["a"])
        #expect(try w.names(["--expiring-within", "11d", "--status", "active"]) == ["b"])
        #expect(try w.list().count == 6)
        let statuses = try w.list().compactMap { $0["status"] as? String }
        #expect(Set(statuses) == ["active", "expired", "retiring", "revoked"])

        w.expectFailure(["list", "--status", "bogus"], .usage)
        w.expectFailure(["list", "--status", "active,"], .usage)
        w.expectFailure(["list", "--expiring-within", "1x"], .usage)
        w.expectFailure(["list", "extra"], .usage)
        let none = w.run(["list", "--status", "retiring", "--expiring-within", "1s"])
        #expect(none.status == 0 && none.stdout.isEmpty && none.stderr.contains("no keys match"))
    }

    @Test func emptyKeystore() throws {
        let w = World()
        #expect(w.run(["init"]).status == 0)
        let human = w.run(["list"])
        #expect(human.status == 0 && human.stdout.isEmpty && human.stderr.hasPrefix("keyctl: "))
        let json = w.run(["list", "--json"])
        #expect(json.status == 0 && json.stdout == "[]\n" && json.stderr.isEmpty)
    }

    @Test func showByIdAndByName() throws {
        let w = World()
        let c = try w.create("ci", ["--permissions", "admin"])
        try w.create("other")
        let byName = try w.record("ci")
        let byID = try w.record(c.id)
        #expect(byName["id"] as? String == c.id)
        #expect(NSDictionary(dictionary: byName) == NSDictionary(dictionary: byID))
        #expect(Set(byName.keys) == recordFields)
        #expect(byName["permissions"] as? [String] == ["admin"])
        let human = w.run(["show", "ci"])
        #expect(human.status == 0)
        for line in [
            "id:", "name:", "hint:", "environment:", "permissions:", "status:", "created_at:", "expires_at:",
            "revoked_at:", "last_used_at:",
        ] {
            #expect(human.stdout.contains(line), "\(line) in \(human.stdout)")
        }
        #expect(human.stdout.contains(c.id) && human.stdout.contains(iso(t0)))
        #expect(!human.stdout.contains(c.key))
        let (line, _) = w.expectFailure(["show", "nope"], .notFound)
        #expect(line.contains("'nope'"))
        w.expectFailure(["show", "key_doesnotexist"], .notFound)
        w.expectFailure(["show"], .usage)
        w.expectFailure(["show", "a", "b"], .usage)
    }

    @Test func anIdWinsOverAName() throws {
        let w = World()
        let a = try w.create("a")
        let b = try w.create(a.id)  // a name may look like an id
        #expect(try w.record(a.id)["name"] as? String == "a")
        #expect(try w.record(b.id)["name"] as? String == a.id)
        let c = try w.create("key_notanid")
        #expect(try w.record("key_notanid")["id"] as? String == c.id, "falls back to the name")
    }

    @Test func retiringAndRevokedKeysAreAddressedOnlyById() throws {
        let w = World()
        let old = try w.create("ci")
        let r = w.run(["--json", "rotate", "ci", "--grace", "1h"])
        #expect(r.status == 0)
        let newID = try #require((try object(r.stdout)["new"] as? [String: Any])?["id"] as? String)
        #expect(try w.record("ci")["id"] as? String == newID, "the name is the new key's")
        #expect(try w.record(old.id)["status"] as? String == "retiring")
        // Revoke the old one by id; its name still means the new key.
        #expect(w.run(["revoke", old.id]).status == 0)
        #expect(try w.record(old.id)["status"] as? String == "revoked")
        let other = try w.create("gone")
        #expect(w.run(["revoke", "gone"]).status == 0)
        let (line, _) = w.expectFailure(["show", "gone"], .notFound)
        #expect(line.contains("id"), "hints that a revoked key goes by its id: \(line)")
        #expect(try w.record(other.id)["status"] as? String == "revoked")
    }
}

// MARK: - revoke

@Suite struct RevokeCommandTests {
    @Test func revokesByNameAndId() throws {
        let w = World()
        let a = try w.create("a")
        let b = try w.create("b")
        try w.create("c")
        w.now += 5
        let r = w.run(["revoke", "a"])
        #expect(r.status == 0 && r.stdout.isEmpty)
        #expect(r.stderr.contains(a.id))
        let record = try w.record(a.id)
        #expect(record["status"] as? String == "revoked")
        #expect(record["revoked_at"] as? String == iso(t0 + 5))
        #expect(w.verify(a.key) == 3)
        #expect(mode(w.keystore) == 0o600, "a rewritten keystore keeps its mode")
        let json = w.run(["revoke", b.id, "--json"])
        #expect(json.status == 0)
        let revoked = try #require(parse(json.stdout) as? [[String: Any]])
        #expect(revoked.count == 1 && revoked.first?["id"] as? String == b.id && revoked.first?["status"] as? String == "revoked")
    }

    @Test func severalAtOnceAllOrNothing() throws {
        let w = World()
        let a = try w.create("a")
        let b = try w.create("b")
        try w.create("c")
        let (line, _) = w.expectFailure(["revoke", "a", "nope", "b"], .notFound)
        #expect(line.contains("'nope'"))
        #expect(try w.record("a")["status"] as? String == "active")
        let r = w.run(["--json", "revoke", "a", b.id, "a"])
        #expect(r.status == 0)
        let ids = try #require(parse(r.stdout) as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(ids == [a.id, b.id])
        #expect(try w.names(["--status", "active"]) == ["c"])
    }

    @Test func lastKey() throws {
        let w = World()
        let a = try w.create("a")
        let (line, _) = w.expectFailure(["revoke", "a"], .lastKey)
        #expect(line.contains("rotate") || line.contains("create"), "says what to do: \(line)")
        w.expectFailure(["revoke", a.id, "a"], .lastKey)
        let b = try w.create("b")
        // Several keys in one call: nothing changes.
        w.expectFailure(["revoke", "a", "b"], .lastKey)
        w.expectFailure(["revoke", b.id, a.id], .lastKey)
        #expect(try w.names(["--status", "active"]) == ["b", "a"])
        // An expired key is still in use: revoking the other one is fine.
        try w.create("c", ["--expires-in", "1h"])
        w.now += 7200
        #expect(w.run(["revoke", "a", "b"]).status == 0)
        w.expectFailure(["revoke", "c"], .lastKey)
    }

    @Test func aRetiringKeyDoesNotSaveTheLastKey() throws {
        let w = World()
        let old = try w.create("ci")
        let rotated = w.run(["--json", "rotate", "ci", "--grace", "1h"])
        #expect(rotated.status == 0)
        let newKey = try #require((try object(rotated.stdout)["new"] as? [String: Any])?["key"] as? String)
        // The new key is the only one in use, though the old one still verifies.
        w.expectFailure(["revoke", "ci"], .lastKey)
        #expect(w.verify(old.key) == 0)
        // Revoking the retiring key ends its grace now.
        w.now += 60
        #expect(w.run(["revoke", old.id]).status == 0)
        let record = try w.record(old.id)
        #expect(record["status"] as? String == "revoked")
        #expect(record["revoked_at"] as? String == iso(t0 + 60))
        #expect(w.verify(old.key) == 3)
        #expect(w.verify(newKey) == 0)
    }

    @Test func revokingARevokedKeyIsANoOp() throws {
        let w = World()
        let a = try w.create("a")
        try w.create("b")
        #expect(w.run(["revoke", "a"]).status == 0)
        let before = w.bytes()
        w.now += 3600
        let again = w.run(["revoke", a.id])
        #expect(again.status == 0)
        #expect(again.stderr.contains("already revoked"))
        #expect(w.bytes() == before)
        #expect(try w.record(a.id)["revoked_at"] as? String == iso(t0))
        let json = w.run(["revoke", a.id, "--json"])
        #expect(json.status == 0 && (parse(json.stdout) as? [Any])?.count == 1)
        // By name it is gone.
        w.expectFailure(["revoke", "a"], .notFound)
        w.expectFailure(["revoke"], .usage)
    }
}

// MARK: - rotate

@Suite struct RotateCommandTests {
    fileprivate static func rotation(_ r: Output) throws -> (old: [String: Any], new: [String: Any]) {
        let top = try object(r.stdout)
        #expect(Set(top.keys) == ["old", "new"])
        return (try #require(top["old"] as? [String: Any]), try #require(top["new"] as? [String: Any]))
    }

    @Test func rotatesAtOnceKeepingNameEnvPermissionsAndLifetime() throws {
        let w = World()
        let a = try w.create("svc", ["--expires-in", "30d", "--env", "test", "--permissions", "write,webhook"])
        try w.create("other")
        w.now += 10 * 86400
        let r = w.run(["rotate", "svc", "--json"])
        #expect(r.status == 0 && r.stderr.isEmpty)
        let (old, new) = try Self.rotation(r)
        #expect(old["id"] as? String == a.id)
        #expect(old["status"] as? String == "revoked")
        #expect(old["revoked_at"] as? String == iso(w.now))
        #expect(old["rotated_to"] as? String == new["id"] as? String)
        #expect(new["rotated_from"] as? String == a.id)
        #expect(new["name"] as? String == "svc")
        #expect(new["environment"] as? String == "test")
        #expect(new["permissions"] as? [String] == ["write", "webhook"])
        #expect(new["created_at"] as? String == iso(w.now))
        #expect(new["expires_at"] as? String == iso(w.now + 30 * 86400), "as long a lifetime as the old key had")
        #expect(new["status"] as? String == "active")
        #expect(old["key"] == nil)
        let key = try #require(new["key"] as? String)
        #expect(key.hasPrefix("ak_test_"))
        #expect(w.verify(a.key) == 3)
        #expect(w.verify(key) == 0)
        #expect(try w.record("svc")["id"] as? String == new["id"] as? String)
    }

    @Test func humanOutputIsTheKeyAlone() throws {
        let w = World()
        let a = try w.create("svc")
        let r = w.run(["rotate", "svc"])
        #expect(r.status == 0)
        #expect(r.stdout.filter { $0 == "\n" }.count == 1)
        let key = String(r.stdout.dropLast())
        #expect(key != a.key && w.verify(key) == 0)
        #expect(r.stderr.contains("only once") && !r.stderr.contains(key))
        let bearer = w.run(["rotate", "svc", "--format", "bearer"])
        #expect(bearer.status == 0 && bearer.stdout.hasPrefix("Authorization: Bearer "))
        #expect(w.verify(String(bearer.stdout.dropFirst("Authorization: Bearer ".count).dropLast())) == 0)
        #expect(w.verify(key) == 3)
    }

    @Test func graceKeepsTheOldKeyValidUntilItEnds() throws {
        let w = World()
        let a = try w.create("svc")
        let r = w.run(["--json", "rotate", a.id, "--grace", "1h"])
        #expect(r.status == 0)
        let (old, new) = try Self.rotation(r)
        #expect(old["status"] as? String == "retiring")
        #expect(old["revoked_at"] as? String == iso(t0 + 3600))
        let key = try #require(new["key"] as? String)
        w.now += 3599
        #expect(w.verify(a.key) == 0)
        #expect(w.verify(key) == 0)
        #expect(try w.record(a.id)["status"] as? String == "retiring")
        w.now += 1
        #expect(try w.record(a.id)["status"] as? String == "revoked")
        w.expectAnswer(["verify"], .revokedAPIKey, stdin: a.key)
        let answer = try object(w.run(["verify", "--json"], stdin: a.key).stdout)
        #expect((answer["message"] as? String)?.contains("grace") == true, "\(answer)")
        #expect(w.verify(key) == 0)
    }

    @Test func graceIsAtMostSevenDays() throws {
        let w = World()
        try w.create("a")
        w.expectFailure(["rotate", "a", "--grace", "8d"], .usage)
        w.expectFailure(["rotate", "a", "--grace", "7d1s"], .usage)
        w.expectFailure(["rotate", "a", "--grace", "2w"], .usage)
        w.expectFailure(["rotate", "a", "--grace", "soon"], .usage)
        let r = w.run(["--json", "rotate", "a", "--grace", "1w"])
        #expect(r.status == 0)
        #expect(try Self.rotation(r).old["revoked_at"] as? String == iso(t0 + 7 * 86400))
    }

    @Test func expiresInAndKeysThatNeverExpire() throws {
        let w = World()
        try w.create("a", ["--expires-in", "30d"])
        try w.create("never")
        let r = w.run(["--json", "rotate", "a", "--expires-in", "5d"])
        #expect(try Self.rotation(r).new["expires_at"] as? String == iso(t0 + 5 * 86400))
        let n = w.run(["--json", "rotate", "never"])
        #expect(try Self.rotation(n).new["expires_at"] is NSNull)
        let m = w.run(["--json", "rotate", "never", "--expires-in", "1w"])
        #expect(try Self.rotation(m).new["expires_at"] as? String == iso(t0 + 7 * 86400))
        // An expired key may be rotated; the new one gets the old lifetime from now.
        w.now += 6 * 86400
        let e = w.run(["--json", "rotate", "a"])
        #expect(e.status == 0)
        let (old, new) = try Self.rotation(e)
        #expect(old["status"] as? String == "revoked")
        #expect(new["expires_at"] as? String == iso(w.now + 5 * 86400))
    }

    @Test func theLastKeyMayBeRotated() throws {
        let w = World()
        #expect(w.run(["init", "--max-keys", "1"]).status == 0)
        let a = try w.create("only")
        let r = w.run(["rotate", "only"])
        #expect(r.status == 0)
        #expect(w.verify(a.key) == 3)
        #expect(w.verify(String(r.stdout.dropLast())) == 0)
        #expect(w.run(["rotate", "only", "--grace", "1d"]).status == 0)
    }

    @Test func refusals() throws {
        let w = World()
        let a = try w.create("a")
        let b = try w.create("b")
        try w.create("c")
        #expect(w.run(["revoke", "a"]).status == 0)
        let (line, _) = w.expectFailure(["rotate", a.id], .keyRevoked)
        #expect(line.contains(a.id))
        #expect(w.run(["rotate", "b", "--grace", "1d"]).status == 0)
        w.expectFailure(["rotate", b.id], .keyRevoked)
        w.expectFailure(["rotate", "a"], .notFound)
        w.expectFailure(["rotate", "nope"], .notFound)
        w.expectFailure(["rotate"], .usage)
        w.expectFailure(["rotate", "c", "--expiring-within", "1d"], .usage)
        w.expectFailure(["rotate", "c", "--format", "env", "--json"], .usage)
        w.expectFailure(["rotate", "c", "--format", "pem"], .usage)
        w.expectFailure(["rotate", "c", "--expires-in", "0s"], .usage)
        w.expectFailure(["rotate", "c", "d"], .usage)
    }

    @Test func expiringWithinRotatesEveryDueKeyInOneWrite() throws {
        let w = World()
        let a = try w.create("a", ["--expires-in", "1d"])
        try w.create("b", ["--expires-in", "10d"])
        try w.create("c")
        let d = try w.create("d", ["--expires-in", "1h"])
        let e = try w.create("e", ["--expires-in", "1d"])
        let r = try w.create("r", ["--expires-in", "1d"])
        #expect(w.run(["revoke", "e"]).status == 0)
        #expect(w.run(["rotate", "r", "--grace", "1d", "--expires-in", "30d"]).status == 0)
        w.now += 7200  // d is now expired; r is retiring
        var renames = 0
        w.faultInjection = { step in if step == "renamed" { renames += 1 } }
        let out = w.run(["--json", "rotate", "--expiring-within", "2d"])
        w.faultInjection = nil
        #expect(out.status == 0, "\(out.stderr)")
        #expect(renames == 1, "one write for the whole batch")
        let batch = try #require(parse(out.stdout) as? [[String: [String: Any]]])
        #expect(batch.count == 2)
        #expect(Set(batch.compactMap { $0["old"]?["id"] as? String }) == [a.id, d.id])
        for pair in batch {
            let key = try #require(pair["new"]?["key"] as? String)
            #expect(w.verify(key) == 0)
            #expect(pair["old"]?["status"] as? String == "revoked")
            #expect(pair["new"]?["name"] as? String == pair["old"]?["name"] as? String)
        }
        #expect(w.verify(a.key) == 3)
        #expect(try w.record(e.id)["rotated_to"] is NSNull)
        #expect(try w.record(r.id)["status"] as? String == "retiring")
        #expect(try w.names(["--status", "active"]).sorted() == ["a", "b", "c", "d", "r"])
    }

    @Test func expiringWithinHumanOutputAndEmptySet() throws {
        let w = World()
        try w.create("a", ["--expires-in", "1d"])
        try w.create("b", ["--expires-in", "1h"])
        try w.create("c", ["--expires-in", "30d"])
        let before = w.bytes()
        let empty = w.run(["rotate", "--expiring-within", "30m", "--json"])
        #expect(empty.status == 0 && empty.stdout == "[]\n" && empty.stderr.isEmpty, "\(empty)")
        #expect(w.bytes() == before)
        let quiet = w.run(["rotate", "--expiring-within", "30m"])
        #expect(quiet.status == 0 && quiet.stdout.isEmpty && quiet.stderr.hasPrefix("keyctl: "), "\(quiet)")
        #expect(w.bytes() == before)

        let r = w.run(["rotate", "--expiring-within", "2d"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(lines.count == 2)
        #expect(Set(lines.compactMap { $0.first.map(String.init) }) == ["a", "b"])
        for fields in lines where fields.count == 2 {
            #expect(w.verify(String(fields[1])) == 0)
        }
        let env = w.run(["rotate", "--expiring-within", "2d", "--format", "env"])
        #expect(env.status == 0)
        #expect(env.stdout.split(separator: "\n").allSatisfy { $0.contains("\tKEYCTL_API_KEY=") }, "\(env.stdout)")
        w.expectFailure(["rotate", "--expiring-within", "2x"], .usage)
        w.expectFailure(["rotate", "--expiring-within", "2d", "--grace", "8d"], .usage)
    }

    @Test func expiringWithinOnAMissingKeystore() {
        let w = World()
        w.expectFailure(["rotate", "--expiring-within", "1d"], .keystoreNotFound)
        #expect(w.files().isEmpty)
    }
}

// MARK: - verify

@Suite struct VerifyCommandTests {
    @Test func keyFromStdinEnvOrArgument() throws {
        let w = World()
        let c = try w.create("ci", ["--permissions", "read,write", "--expires-in", "1d"])
        let stdin = w.run(["verify", "--json"], stdin: "  \t" + c.key + "  \nsecond line\n")
        #expect(stdin.status == 0 && stdin.stderr.isEmpty)
        let answer = try object(stdin.stdout)
        #expect(Set(answer.keys) == ["valid", "id", "name", "environment", "permissions", "expires_at"])
        #expect(answer["valid"] as? Bool == true)
        #expect(answer["id"] as? String == c.id)
        #expect(answer["name"] as? String == "ci")
        #expect(answer["environment"] as? String == "live")
        #expect(answer["permissions"] as? [String] == ["read", "write"])
        #expect(answer["expires_at"] as? String == iso(t0 + 86400))
        #expect(w.run(["verify", "--from-env", "MY_KEY"], env: ["MY_KEY": c.key + "\n"]).status == 0)
        #expect(w.run(["verify", "--from-env=MY_KEY"], env: ["MY_KEY": c.key]).status == 0)
        #expect(w.run(["verify", c.key]).status == 0)
        let human = w.run(["verify"], stdin: c.key)
        #expect(human.status == 0 && human.stdout.hasPrefix("valid") && !human.stdout.contains(c.key))
        w.expectFailure(["verify", c.key, "--from-env", "MY_KEY"], .usage, env: ["MY_KEY": c.key])
        w.expectFailure(["verify", "--from-env="], .usage)
        w.expectFailure(["verify", "--require", "bogus"], .usage, stdin: c.key)
    }

    @Test func missingKey() throws {
        let w = World()
        try w.create("ci")
        w.expectAnswer(["verify"], .missingAPIKey, stdin: nil)
        w.expectAnswer(["verify"], .missingAPIKey, stdin: "\n")
        w.expectAnswer(["verify"], .missingAPIKey, stdin: "   \t \n")
        w.expectAnswer(["verify", "--from-env", "UNSET_VARIABLE"], .missingAPIKey)
        w.expectAnswer(["verify", "--from-env", "EMPTY"], .missingAPIKey, env: ["EMPTY": ""])
    }

    @Test func invalidKeys() throws {
        let w = World()
        let c = try w.create("ci")
        w.expectAnswer(["verify"], .invalidAPIKey, stdin: "hello")
        var typo = Array(c.key)
        typo[12] = typo[12] == "A" ? "B" : "A"
        w.expectAnswer(["verify"], .invalidAPIKey, stdin: String(typo))
        // Well formed, right checksum, never issued here.
        let stranger = APIKey.generate(prefix: "ak", environment: .live, randomBytes: { [UInt8](repeating: 7, count: $0) })
        w.expectAnswer(["verify"], .invalidAPIKey, stdin: stranger.text)
        // Another keystore's prefix, even with a digest that would match nothing.
        let foreign = APIKey.generate(prefix: "zz", environment: .live, randomBytes: { [UInt8](repeating: 9, count: $0) })
        w.expectAnswer(["verify"], .invalidAPIKey, stdin: foreign.text)
        w.expectAnswer(["verify", "--from-env", "K"], .invalidAPIKey, env: ["K": c.key + "x"])
        // The environment is part of the key: swapping it breaks the checksum.
        w.expectAnswer(["verify"], .invalidAPIKey, stdin: c.key.replacingOccurrences(of: "_live_", with: "_test_"))
    }

    @Test func expiredRevokedForbidden() throws {
        let w = World()
        let reader = try w.create("reader", ["--expires-in", "1h"])
        let admin = try w.create("admin", ["--permissions", "admin"])
        let writer = try w.create("writer", ["--permissions", "write"])
        let gone = try w.create("gone")
        #expect(w.run(["revoke", "gone"]).status == 0)

        #expect(w.verify(reader.key, ["--require", "read"]) == 0)
        w.expectAnswer(["verify", "--require", "write"], .forbidden, stdin: reader.key)
        w.expectAnswer(["verify", "--require", "read,write"], .forbidden, stdin: writer.key)
        #expect(w.verify(writer.key, ["--require", "write"]) == 0)
        for p in ["read", "write", "admin", "webhook", "read,write,admin,webhook"] {
            #expect(w.verify(admin.key, ["--require", p]) == 0, "admin implies \(p)")
        }
        w.expectAnswer(["verify"], .revokedAPIKey, stdin: gone.key)
        w.expectAnswer(["verify", "--require", "admin"], .revokedAPIKey, stdin: gone.key)
        w.now += 3599
        #expect(w.verify(reader.key) == 0)
        w.now += 1
        w.expectAnswer(["verify"], .expiredAPIKey, stdin: reader.key)
        w.expectAnswer(["verify", "--require", "admin"], .expiredAPIKey, stdin: reader.key)
    }

    @Test func lastUsedIsStampedAtMostOnceAMinuteAndNeverInTheKeystore() throws {
        let w = World()
        let c = try w.create("ci")
        try w.create("other")
        let keystore = w.bytes()
        func usageSize() -> Int { (try? FileManager.default.attributesOfItem(atPath: w.keystore + ".usage")[.size] as? Int) ?? 0 }
        #expect(w.verify(c.key) == 0)
        #expect(try w.record("ci")["last_used_at"] as? String == iso(t0))
        #expect(try w.record("other")["last_used_at"] is NSNull)
        #expect(w.bytes() == keystore, "verify never rewrites the keystore")
        #expect(usageSize() == UsageFile.recordSize)
        w.now += 30
        #expect(w.verify(c.key) == 0)
        w.now += 29
        #expect(w.verify(c.key) == 0)
        #expect(usageSize() == UsageFile.recordSize, "no stamp within the minute")
        w.now += 2
        #expect(w.verify(c.key) == 0)
        #expect(usageSize() == 2 * UsageFile.recordSize)
        #expect(try w.record("ci")["last_used_at"] as? String == iso(t0 + 61))
        let list = w.run(["list"])
        #expect(list.stdout.contains(iso(t0 + 61)))
        #expect(w.run(["show", "ci"]).stdout.contains(iso(t0 + 61)))
        // A failed verify stamps nothing.
        w.now += 120
        #expect(w.verify(c.key, ["--require", "admin"]) == 4)
        #expect(try w.record("ci")["last_used_at"] as? String == iso(t0 + 61))
        #expect(w.bytes() == keystore)
        // A write keeps the keystore's own last_used_at and the usage file as they were.
        w.now += 1
        try w.create("third")
        #expect(try w.record("ci")["last_used_at"] as? String == iso(t0 + 61))
        // Deleting or damaging the usage file only loses last-used times.
        try Data(repeating: 0x41, count: 100).write(to: URL(fileURLWithPath: w.keystore + ".usage"))
        #expect(try w.record("ci")["last_used_at"] is NSNull)
        #expect(w.verify(c.key) == 0)
        #expect(try w.record("ci")["last_used_at"] as? String == iso(w.now))
        unlink(w.keystore + ".usage")
        #expect(try w.record("ci")["last_used_at"] is NSNull)
        #expect(w.run(["list"]).status == 0)
    }

    @Test func aBusyOrUnwritableKeystoreDoesNotSpoilAValidAnswer() throws {
        let w = World()
        let c = try w.create("ci")
        let before = w.bytes()
        let fd = open(w.keystore + ".lock", O_RDWR | O_CREAT, 0o600)
        #expect(flock(fd, LOCK_EX) == 0)
        let started = monotonicSeconds()
        let busy = w.run(["verify"], stdin: c.key, env: ["KEYCTL_LOCK_TIMEOUT": "5"])
        #expect(monotonicSeconds() - started < 2, "verify does not wait for the lock")
        close(fd)
        #expect(busy.status == 0 && busy.stderr.isEmpty)
        #expect(w.bytes() == before)
        // A usage file verify may not write (another's, or unsafe) is left alone; the answer stands.
        unlink(w.keystore + ".usage")
        #expect(mkdir(w.keystore + ".usage", 0o700) == 0)
        w.now += 120
        #expect(w.run(["verify"], stdin: c.key).status == 0)
        #expect(w.run(["list"]).status == 0)
        rmdir(w.keystore + ".usage")

        w.faultInjection = { _ in throw KeyCtlError(.ioError, "injected") }
        let failing = w.run(["verify", "--json"], stdin: c.key)
        #expect(failing.status == 0 && failing.stderr.isEmpty)
        #expect((try object(failing.stdout))["valid"] as? Bool == true)
        #expect(w.bytes() == before)
        #expect(!w.files().contains { $0.contains(".tmp-") })
    }

    @Test func aMissingOrCorruptKeystoreIsLouderThanTheKey() throws {
        let w = World()
        w.expectFailure(["verify"], .keystoreNotFound, stdin: "hello")
        w.expectFailure(["verify"], .keystoreNotFound, stdin: PrimitiveTests.valid)
        #expect(w.files().isEmpty)
        w.write("{")
        w.expectFailure(["verify"], .keystoreCorrupt, stdin: "hello")
        w.expectFailure(["verify"], .keystoreCorrupt, stdin: PrimitiveTests.valid)
    }
}

// MARK: - keystore faults: not found, corrupt, I/O, busy, permissions

@Suite struct KeystoreFaultTests {
    /// Every command that reads an existing keystore, with arguments that would otherwise work.
    static let commands: [[String]] = [
        ["list"], ["show", "ci"], ["revoke", "ci"], ["rotate", "ci"], ["rotate", "--expiring-within", "1d"],
    ]

    @Test func keystoreNotFound() {
        let w = World()
        for argv in Self.commands + [["show", "key_abc"], ["list", "--status", "active"]] {
            let (line, message) = w.expectFailure(argv, .keystoreNotFound)
            #expect(line.contains(w.keystore))
            #expect(line.contains("keyctl init") || line.contains("keyctl create"), "says how to create one: \(line)")
            #expect(message.contains("init"))
        }
        w.expectFailure(["verify"], .keystoreNotFound, stdin: PrimitiveTests.valid)
        w.expectFailure(["verify", "--from-env", "K"], .keystoreNotFound, env: ["K": PrimitiveTests.valid])
        #expect(w.files().isEmpty, "nothing made beside a keystore that is not there: \(w.files())")
        // A path through a regular file is no keystore either.
        w.write("not a directory")
        w.expectFailure(["list", "--keystore", w.keystore + "/keystore.json"], .keystoreNotFound)
    }

    static let digest = String(repeating: "ab", count: 32)
    static func keystore(_ records: [String], version: String = "1") -> String {
        "{\"version\":\(version),\"prefix\":\"ak\",\"max_keys\":10,\"keys\":[\n" + records.joined(separator: ",\n") + "\n]}\n"
    }
    static func record(id: String = "key_A1", name: String = "ci", digest: String = digest, extra: String = "") -> String {
        "{\"id\":\"\(id)\",\"name\":\"\(name)\",\"digest\":\"\(digest)\",\"hint\":\"ak_live_\u{2026}abcd\",\"environment\":\"live\","
            + "\"permissions\":[\"read\"],\"created_at\":\"2027-01-01T00:00:00Z\",\"expires_at\":null,\"revoked_at\":null,"
            + "\"last_used_at\":null,\"rotated_from\":null,\"rotated_to\":null\(extra)}"
    }

    @Test func theHandWrittenFixtureIsValid() throws {
        let w = World()
        w.write(Self.keystore([Self.record(), Self.record(id: "key_B2", name: "other", digest: String(repeating: "cd", count: 32))]))
        #expect(try w.names() == ["other", "ci"])
        #expect(try w.record("ci")["id"] as? String == "key_A1")
    }

    struct Corruption: CustomTestStringConvertible, Sendable {
        var label: String
        var text: String
        /// "line L, column C" the message must name, when the fault has a place.
        var place: String?
        var testDescription: String { label }
    }

    static let corruptions: [Corruption] = [
        Corruption(label: "empty", text: "", place: nil),
        Corruption(label: "nonsense", text: "this is not a keystore\n", place: "line 1, column 1"),
        Corruption(label: "truncated", text: String(keystore([record()]).prefix(100)), place: "line 2"),
        Corruption(label: "future version", text: keystore([record()], version: "3"), place: "line 1, column 12"),
        Corruption(label: "version zero", text: keystore([], version: "0"), place: "line 1"),
        Corruption(
            label: "unknown top-level field",
            text: "{\"version\":1,\n\"prefix\":\"ak\",\n\"bogus\":1,\"max_keys\":10,\"keys\":[]}\n", place: "line 3, column 1"),
        Corruption(label: "duplicate field", text: "{\"version\":1,\"version\":1,\"prefix\":\"ak\",\"max_keys\":10,\"keys\":[]}", place: "line 1"),
        Corruption(label: "bad type", text: "{\"version\":1,\"prefix\":\"ak\",\"max_keys\":\"10\",\"keys\":[]}", place: "line 1"),
        Corruption(label: "missing field", text: "{\"version\":1,\"prefix\":\"ak\",\"keys\":[]}", place: nil),
        Corruption(label: "unknown record field", text: keystore([record(extra: ",\"secret\":\"x\"")]), place: "line 2"),
        Corruption(
            label: "duplicate id",
            text: keystore([record(), record(name: "b", digest: String(repeating: "cd", count: 32))]), place: "line 3, column 1"),
        Corruption(
            label: "two keys in use named alike",
            text: keystore([record(), record(id: "key_B2", digest: String(repeating: "cd", count: 32))]), place: "line 3"),
        Corruption(label: "bad digest", text: keystore([record(digest: "ABC")]), place: "line 2"),
        Corruption(label: "trailing garbage", text: keystore([]) + "x", place: "line 4, column 1"),
        Corruption(label: "not an object", text: "[]", place: "line 1, column 1"),
    ]

    @Test(arguments: corruptions)
    func corruptKeystoresAreNeverOverwritten(_ c: Corruption) {
        let w = World()
        w.write(c.text)
        for argv in Self.commands + [["init"], ["create", "new"], ["revoke", "ci", "other"]] {
            let (line, message) = w.expectFailure(argv, .keystoreCorrupt)
            #expect(line.contains(w.keystore), "names the file: \(line)")
            if let place = c.place {
                #expect(message.contains(place), "\(c.label): \(message)")
            }
        }
        w.expectFailure(["verify"], .keystoreCorrupt, stdin: PrimitiveTests.valid)
        #expect(!w.files().contains { $0.contains(".tmp-") })
    }

    @Test(arguments: ["written", "synced"])
    func ioErrorsLeaveTheKeystoreAsItWas(step: String) throws {
        let fault: (String) throws -> Void = { if $0 == step { throw KeyCtlError(.ioError, "injected fault at \($0)") } }
        let w = World()
        let a = try w.create("a")
        try w.create("b", ["--expires-in", "1h"])
        w.faultInjection = fault
        w.expectFailure(["create", "c"], .ioError)
        w.expectFailure(["revoke", "a"], .ioError)
        w.expectFailure(["rotate", "a"], .ioError)
        w.expectFailure(["rotate", "a", "--grace", "1d"], .ioError)
        w.expectFailure(["rotate", "--expiring-within", "1d"], .ioError)
        #expect(!w.files().contains { $0.contains(".tmp-") }, "temporary files removed: \(w.files())")
        w.faultInjection = nil
        #expect(w.verify(a.key) == 0)
        #expect(try w.names() == ["b", "a"])
        #expect(try w.names(["--status", "active"]) == ["b", "a"])

        let fresh = World()
        fresh.faultInjection = fault
        fresh.expectFailure(["create", "c"], .ioError)
        fresh.expectFailure(["init"], .ioError)
        #expect(fresh.bytes() == nil, "no keystore made")
        #expect(!fresh.files().contains { $0.contains(".tmp-") })
    }

    @Test func ioErrorWhenTheDirectoryCannotBeMade() throws {
        let w = World()
        w.write("a regular file")
        w.keystore = w.keystore + "/sub/keystore.json"
        w.expectFailure(["create", "ci"], .ioError)
        w.expectFailure(["init"], .ioError)
    }

    @Test func busy() throws {
        let w = World()
        let a = try w.create("a")
        try w.create("b")
        let fd = open(w.keystore + ".lock", O_RDWR | O_CREAT, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX) == 0)
        let env = ["KEYCTL_LOCK_TIMEOUT": "0.2"]
        for argv in [["create", "c"], ["revoke", "a"], ["rotate", "a"], ["rotate", "--expiring-within", "1d"], ["init"]] {
            let started = monotonicSeconds()
            let (line, _) = w.expectFailure(argv, .keystoreBusy, env: env)
            let elapsed = monotonicSeconds() - started
            #expect(elapsed >= 0.4 && elapsed < 5, "two runs of about 0.2 s each, took \(elapsed)")
            #expect(line.contains("KEYCTL_LOCK_TIMEOUT"), "\(line)")
        }
        // Readers take no lock.
        #expect(try w.names() == ["b", "a"])
        #expect(w.verify(a.key) == 0)
        // A timeout of 0 tries once.
        w.expectFailure(["create", "c"], .keystoreBusy, env: ["KEYCTL_LOCK_TIMEOUT": "0"])
        flock(fd, LOCK_UN)
        try w.create("c")
    }

    @Test(arguments: ["abc", "-1", "nan", "inf", "1e9", "10s", " "])
    func invalidLockTimeoutIsUsage(_ value: String) throws {
        let w = World()
        try w.create("a")
        let (line, _) = w.expectFailure(["create", "b"], .usage, env: ["KEYCTL_LOCK_TIMEOUT": value])
        #expect(line.contains("KEYCTL_LOCK_TIMEOUT"))
        #expect(w.run(["create", "b"], env: ["KEYCTL_LOCK_TIMEOUT": "0.5"]).status == 0)
    }

    @Test(arguments: [0o666, 0o620, 0o602, 0o660])
    func writableByOthersIsRefused(fileMode: Int) throws {
        let w = World()
        let a = try w.create("a")
        try w.create("b")
        chmod(w.keystore, mode_t(fileMode))
        for argv in Self.commands + [["create", "c"], ["init"]] {
            let (line, _) = w.expectFailure(argv, .permissionDenied)
            // The exact fix: take write away from group and others, keep the rest.
            let fix = "run: chmod \(String(fileMode & ~0o22, radix: 8)) \(w.keystore)"
            #expect(line.contains(fix), "says how to fix it: \(line)")
        }
        w.expectFailure(["verify"], .permissionDenied, stdin: a.key)
        #expect(mode(w.keystore) == mode_t(fileMode))
        chmod(w.keystore, 0o600)
        #expect(w.verify(a.key) == 0)
        chmod(w.keystore, 0o640)  // readable by the group is no threat to integrity
        #expect(w.verify(a.key) == 0)
    }

    @Test func aDirectoryWritableByOthersIsRefusedUnlessSticky() throws {
        let w = World()
        let a = try w.create("a")
        chmod(w.directory, 0o777)
        let (line, _) = w.expectFailure(["list"], .permissionDenied)
        #expect(line.contains("run: chmod 755 \(w.directory)"), "\(line)")
        w.expectFailure(["create", "b"], .permissionDenied)
        w.expectFailure(["verify"], .permissionDenied, stdin: a.key)
        chmod(w.directory, 0o770)
        w.expectFailure(["revoke", "a"], .permissionDenied)
        chmod(w.directory, 0o1777)
        #expect(w.verify(a.key) == 0)
        try w.create("b")
        chmod(w.directory, 0o700)
    }

    @Test func aSymlinkIsRefused() throws {
        let w = World()
        let real = World()
        let a = try real.create("a")
        try real.create("b")
        let target = real.bytes()
        #expect(symlink(real.keystore, w.keystore) == 0)
        for argv in Self.commands + [["create", "c"], ["init"]] {
            w.expectFailure(argv, .permissionDenied)
        }
        w.expectFailure(["verify"], .permissionDenied, stdin: a.key)
        #expect(real.bytes() == target, "the link's target is untouched")
    }

    /// A keystore of a user keyctl does not trust: every reader and writer exits 77
    /// (1.0: writers 74, issue 8 item 13), writers before they make a lock file, and
    /// nothing changes. As any user: the seam makes the process someone else.
    @Test func anotherOwnerIsRefused() throws {
        let w = World()
        try w.create("a")
        unlink(w.keystore + ".lock")
        let before = w.bytes()
        // The process is user 4242, the keystore user 4244's: the same as root or not.
        let keystore = w.keystore
        w.system.userID = { 4242 }
        let directory = w.directory
        w.system.statusOverride = { path, st in
            st.st_uid = path == keystore ? 4244 : path == directory || st.st_uid == geteuid() ? 4242 : st.st_uid
        }
        let (line, _) = w.expectFailure(["list"], .permissionDenied)
        #expect(line.contains("another user"))
        for argv in [["show", "a"], ["create", "b"], ["revoke", "a"], ["rotate", "a"]] {
            let (message, _) = w.expectFailure(argv, .permissionDenied)
            #expect(message.contains("another user"), "\(argv): \(message)")
        }
        #expect(w.run(["verify"], stdin: "ak_live_" + String(repeating: "A", count: 38)).status == 77)
        #expect(w.bytes() == before)
        #expect(!FileManager.default.fileExists(atPath: w.keystore + ".lock"), "a writer made a lock file before checking the owner")
    }

    /// A user named in KEYCTL_TRUSTED_OWNER may be read, never written by someone else.
    @Test func aTrustedOwnerIsReadNotWritten() throws {
        let w = World()
        try w.create("a")
        let before = w.bytes()
        let keystore = w.keystore
        w.system.userID = { 4242 }
        let directory = w.directory
        w.system.statusOverride = { path, st in
            st.st_uid = path == keystore ? 4244 : path == directory || st.st_uid == geteuid() ? 4242 : st.st_uid
        }
        w.system.userNamed = { $0 == "operator" ? 4244 : nil }
        w.environment["KEYCTL_TRUSTED_OWNER"] = "operator"
        #expect(w.run(["list"]).status == 0)
        let (line, _) = w.expectFailure(["create", "b"], .permissionDenied)
        #expect(line.contains("another user"), "\(line)")
        #expect(w.bytes() == before)
        w.environment["KEYCTL_TRUSTED_OWNER"] = "nosuchuser"
        w.expectFailure(["list"], .usage)
    }
}

// MARK: - the command line as a whole

@Suite struct InvocationTests {
    @Test func helpVersionAndUsage() {
        let w = World()
        for argv in [
            ["--help"], ["-h"], ["help"], ["help", "rotate"], ["rotate", "--help"], ["create", "--bogus", "-h"],
            ["frobnicate", "--help"],
        ] {
            let r = w.run(argv)
            #expect(r.status == 0, "\(argv)")
            #expect(r.stdout.contains("Usage: keyctl"), "\(argv): \(r.stdout)")
            #expect(r.stderr.isEmpty)
        }
        #expect(w.run(["help", "rotate"]).stdout == w.run(["rotate", "--help"]).stdout)
        #expect(w.run(["--help"]).stdout == w.run(["help"]).stdout)
        let version = w.run(["--version"])
        #expect(version.status == 0 && version.stdout == "keyctl \(CommandTable.version)\n")
        let numbers = version.stdout.dropFirst("keyctl ".count).dropLast().split(separator: ".", omittingEmptySubsequences: false)
        #expect(numbers.count == 3 && numbers.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) })
        for argv in [
            ["frobnicate"], ["help", "frobnicate"], ["list", "--bogus"], ["create", "ci", "--env"],
            ["--json=1", "list"],
        ] {
            let (line, _) = w.expectFailure(argv, .usage)
            #expect(line.contains("--help"), "\(argv): \(line)")
        }
        #expect(w.files().isEmpty)
    }

    /// Issue 8 item 14: a bare `keyctl` lists the commands (on stderr: it is a usage
    /// error, exit 64), then the one-line error; with --json, only the JSON error.
    @Test func bareKeyctlListsTheCommands() {
        let w = World()
        for argv in [[], ["--keystore", w.keystore]] {
            let r = w.run(argv)
            #expect(r.status == 64 && r.stdout.isEmpty)
            for command in CommandTable.commands {
                #expect(r.stderr.contains("\n  \(command.name.rawValue)  "), "\(argv): \(command.name.rawValue) missing")
            }
            #expect(r.stderr.hasSuffix("keyctl: missing command; see 'keyctl --help'\n"), "\(r.stderr)")
        }
        let json = w.run(["--json"])
        #expect(json.status == 64 && json.stderr.hasPrefix("{\"error\":{\"code\":\"USAGE\"") && json.stderr.filter { $0 == "\n" }.count == 1)
        #expect(w.files().isEmpty)
    }

    /// Issue 8 item 14: mistyped commands, options and values get the nearest real
    /// one; an option given to the wrong command, or before the command, says whose it is.
    @Test func suggestions() throws {
        let w = World()
        try w.create("ci")
        let before = w.bytes()
        let cases: [([String], String)] = [
            (["lsit"], "unknown command 'lsit'; did you mean 'list'? see 'keyctl --help'"),
            (["rotat", "ci"], "unknown command 'rotat'; did you mean 'rotate'? see 'keyctl --help'"),
            (["verfy"], "unknown command 'verfy'; did you mean 'verify'? see 'keyctl --help'"),
            (
                ["--grace", "1d", "rotate", "x"],
                "option '--grace' is an option of 'rotate', so it goes after the command name; see 'keyctl rotate --help'"
            ),
            (["list", "--grace", "1d"], "unknown option '--grace' for 'list': it is an option of 'rotate'; see 'keyctl list --help'"),
            (["rotate", "ci", "--grcae", "1d"], "unknown option '--grcae'; did you mean '--grace'? see 'keyctl rotate --help'"),
            (
                ["create", "x", "--env", "tset"],
                "invalid value 'tset' for --env (expected live, test); did you mean 'test'? see 'keyctl create --help'"
            ),
            (
                ["create", "x", "--permissions", "read,wirte"],
                "invalid value 'wirte' for --permissions (expected read, write, admin, webhook); did you mean 'write'? see 'keyctl create --help'"
            ),
            (
                ["list", "--status", "revokd"],
                "invalid value 'revokd' for --status (expected active, expired, retiring, revoked); did you mean 'revoked'? see 'keyctl list --help'"
            ),
            (["completions", "bsh"], "unknown shell 'bsh' (expected bash, zsh, fish); did you mean 'bash'? see 'keyctl completions --help'"),
            // Nothing near: no guess.
            (["frobnicate"], "unknown command 'frobnicate'; see 'keyctl --help'"),
        ]
        for (argv, expected) in cases {
            let (line, _) = w.expectFailure(argv, .usage)
            #expect(line == "keyctl: " + expected + "\n", "\(argv)")
        }
        #expect(w.bytes() == before)
    }

    /// Issue 8 item 13: --help and --version print data; a failed write is IO_ERROR
    /// (74), as it is for `help`, not a silent success.
    @Test func helpAndVersionOnAFullStdoutFail() {
        let w = World()
        w.stdoutWorks = false
        for argv in [["--help"], ["-h"], ["help"], ["help", "rotate"], ["rotate", "--help"], ["--version"], ["list", "--version"]] {
            let r = w.run(argv)
            #expect(r.status == 74, "\(argv)")
            #expect(r.stderr == "keyctl: could not write to standard output\n", "\(argv): \(r.stderr)")
        }
    }

    /// Issue 8 item 15: a hint that suggests a command quotes its arguments, so that
    /// pasted into a shell it runs as shown.
    @Test func suggestedCommandsPaste() throws {
        let w = World()
        for name in ["deploy bot", "it's", "-dash", "$HOME"] {
            #expect(w.run(["create", "--", name]).status == 0, "create \(name)")
            let (line, _) = w.expectFailure(["create", "--", name], .nameTaken)
            let command = try #require(line.dropLast().components(separatedBy: "rotate that key: ").last)
            let words = try #require(posixWords(command), "\(command)")
            #expect(words == ["keyctl", "rotate"] + (name.hasPrefix("-") ? ["--"] : []) + [name], "\(line)")
        }
    }

    @Test func globalOptionsAnywhere() throws {
        let w = World()
        let path = w.directory + "/elsewhere.json"
        #expect(w.run(["--keystore", path, "create", "a"]).status == 0)
        #expect(w.run(["create", "b", "--keystore=" + path]).status == 0)
        let r = w.run(["list", "--keystore", path, "--json"])
        #expect((parse(r.stdout) as? [Any])?.count == 2)
        #expect(w.bytes() == nil, "KEYCTL_KEYSTORE was overridden")
        let both = w.run(["--json", "show", "a", "--keystore", path])
        try #expect(both.status == 0 && (try object(both.stdout))["name"] as? String == "a")
        // `--` ends the options, so a name may begin with a dash.
        #expect(w.run(["--keystore", path, "create", "--", "-dash"]).status == 0)
        #expect(w.run(["--keystore", path, "show", "--", "-dash"]).status == 0)
    }

    @Test func completionHelperListsKeysInUse() throws {
        let w = World()
        try w.create("alpha")
        try w.create("beta")
        #expect(w.run(["revoke", "beta"]).status == 0)
        let r = w.run(["__complete-keys"])
        #expect(r.status == 0 && r.stdout == "alpha\n")
        let missing = World()
        let none = missing.run(["__complete-keys"])
        #expect(none.status == 0 && none.stdout.isEmpty && none.stderr.isEmpty)
        // Only the command's place calls the helper: a key may be named like it.
        let named = w.run(["create", "__complete-keys"])
        #expect(named.status == 0 && named.stdout.hasPrefix("ak_live_"))
        #expect(w.run(["__complete-keys"]).stdout == "alpha\n__complete-keys\n")
    }
}

/// The words a POSIX shell makes of `line` (plain words, '…' and \x only: what
/// ShellQuoting writes); nil when it has anything a shell would expand.
func posixWords(_ line: String) -> [String]? {
    var words: [String] = []
    var word: String?
    var quoted = false
    var escaped = false
    for c in line {
        if escaped {
            word = (word ?? "") + String(c)
            escaped = false
        } else if quoted {
            if c == "'" { quoted = false } else { word = (word ?? "") + String(c) }
        } else if c == "'" {
            quoted = true
            word = word ?? ""
        } else if c == "\\" {
            escaped = true
        } else if c == " " {
            if let w = word { words.append(w) }
            word = nil
        } else if "$`\"*?[]{}()<>|&;!#~".contains(c) && word == nil || "$`\"*?[]{}()<>|&;!".contains(c) {
            return nil
        } else {
            word = (word ?? "") + String(c)
        }
    }
    if quoted || escaped { return nil }
    if let w = word { words.append(w) }
    return words
}
