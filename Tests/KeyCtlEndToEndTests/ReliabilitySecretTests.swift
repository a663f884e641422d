// "the secret exists in clear only in the output of the one create or rotate
// that made it." A whole session through the binary, then every file under the
// keystore's directory and every captured output (except the one stdout that delivers
// each key) is searched for any 12-character run of every key generated.

import Foundation
import Testing

@Suite("Reliability: secrets", .serialized)
struct ReliabilitySecretTests {
    final class Session {
        let box = Sandbox()
        /// Every key generated, in clear.
        var keys: [String] = []
        /// Every stdout and stderr that must not hold a secret, with a label.
        var scanned: [(String, String)] = []

        /// A command whose stdout is the one legitimate place for new keys; its stderr is scanned.
        func deliver(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) -> Run {
            let r = box.keyctl(arguments, stdin: stdin, environment: environment)
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
            scanned.append(("stderr of \(arguments)", r.stderr))
            return r
        }

        /// Any other command: both streams are scanned.
        @discardableResult
        func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], expect status: Int32) -> Run {
            let r = box.keyctl(arguments, stdin: stdin, environment: environment)
            #expect(r.status == status, "\(arguments): exit \(r.status): \(r.stderr)")
            scanned.append(("stdout of \(arguments)", r.stdout))
            scanned.append(("stderr of \(arguments)", r.stderr))
            return r
        }
    }

    static func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }

    static func jsonKey(_ s: String) -> String { (parseJSON(s) as? [String: Any])?["key"] as? String ?? "" }

    @Test func noSecretOutsideTheOneOutputThatDeliversIt() throws {
        let s = Session()
        s.run(["init", "--max-keys", "20"], expect: 0)
        // Every way of creating and printing a key.
        let ci = Self.trimmed(s.deliver(["create", "ci"]).stdout)
        let bearer = s.deliver(["create", "web", "--format", "bearer"]).stdout
        let web = Self.trimmed(bearer.replacingOccurrences(of: "Authorization: Bearer ", with: ""))
        let env = s.deliver(["create", "hook", "--format", "env", "--env", "test", "--permissions", "webhook,read"]).stdout
        let hook = Self.trimmed(env.replacingOccurrences(of: "KEYCTL_API_KEY=", with: ""))
        let header = s.deliver(["create", "svc", "--format", "x-api-key"]).stdout
        let svc = Self.trimmed(header.replacingOccurrences(of: "x-api-key: ", with: ""))
        let basic = s.deliver(["create", "basic", "--format", "basic"]).stdout
        let basicKey = String(
            decoding: Data(base64Encoded: Self.trimmed(basic.replacingOccurrences(of: "Authorization: Basic ", with: ""))) ?? Data(), as: UTF8.self)
        let admin = Self.jsonKey(s.deliver(["create", "admin", "--json", "--permissions", "admin", "--expires-in", "1d"]).stdout)
        s.keys = [ci, web, hook, svc, basicKey, admin]
        // Rotations: single, JSON, batch.
        let ci2 = Self.trimmed(s.deliver(["rotate", "ci", "--grace", "1h"]).stdout)
        let rotated = parseJSON(s.deliver(["rotate", "web", "--json"]).stdout) as? [String: [String: Any]]
        let web2 = rotated?["new"]?["key"] as? String ?? ""
        let batch = s.deliver(["rotate", "--expiring-within", "2d"]).stdout
        let admin2 = Self.trimmed(String(batch.split(separator: "\t").last ?? ""))
        s.keys += [ci2, web2, admin2]
        for key in s.keys {
            #expect(key.hasPrefix("ak_live_") || key.hasPrefix("ak_test_"), "could not read a key back: '\(key)'")
            #expect(key.count >= 40)
        }
        #expect(Set(s.keys).count == s.keys.count)

        // verify the documented ways (stdin, --from-env), which keep the key out of argv.
        for key in s.keys where key != ci && key != admin && key != web {
            s.run(["verify"], stdin: key + "\n", expect: 0)
            s.run(["verify", "--json", "--from-env", "PRESENTED"], environment: ["PRESENTED": key], expect: 0)
        }
        s.run(["verify"], stdin: "  " + ci + "  \n", expect: 0)  // retiring: still valid
        s.run(["verify", "--json"], stdin: web + "\n", expect: 3)  // revoked by rotation
        s.run(["verify", "--require", "admin"], stdin: hook + "\n", expect: 4)
        var typo = Array(ci2)
        typo[20] = typo[20] == "A" ? "B" : "A"
        s.run(["verify"], stdin: String(typo) + "\n", expect: 1)
        s.run(["verify", "--json"], stdin: String(typo) + "\n", expect: 1)
        s.run(["verify"], stdin: String(ci2.dropLast()) + "\n", expect: 1)
        s.run(["verify", "--from-env", "UNSET_VARIABLE"], expect: 1)

        // Changes that keep the secret.
        s.run(["update", "svc", "--description", "the billing service", "--permissions", "read,write"], expect: 0)
        s.run(["update", "--json", "hook", "--expires-in", "30d"], expect: 0)

        s.run(["config", "--max-keys", "25"], expect: 0)
        s.run(["config"], expect: 0)
        s.run(["config", "--json"], expect: 0)

        // Reading commands.
        s.run(["list"], expect: 0)
        s.run(["list", "--json"], expect: 0)
        s.run(["list", "--status", "retiring", "--json"], expect: 0)
        s.run(["show", "ci"], expect: 0)
        s.run(["show", "--json", "hook"], expect: 0)
        s.run(["revoke", "hook"], expect: 0)
        s.run(["revoke", "--json", "svc"], expect: 0)

        // Mistakes that put a key where an id, a name or a word was expected: the error
        // must not repeat it (error output ends up in CI logs and terminals' scrollback).
        s.run(["show", ci2], expect: 6)
        s.run(["show", "--json", ci2], expect: 6)
        s.run(["revoke", basicKey], expect: 6)
        s.run(["rotate", basicKey, "--json"], expect: 6)
        s.run(["rotate", String(typo)], expect: 6)
        s.run([ci2], expect: 64)
        s.run(["verify", ci2, admin2], expect: 64)
        s.run(["verify", "--require", ci2], stdin: ci2 + "\n", expect: 64)
        s.run(["--json", "verify", "--require", ci2], stdin: ci2 + "\n", expect: 64)
        s.run(["create", "x", "--env", ci2], expect: 64)
        s.run(["list", "--status", ci2], expect: 64)
        s.run(["verify", "--from-env", ci2], expect: 1)

        // The audit log, every way it is read.
        for argv in [["log"], ["log", "--json"], ["log", "ci"], ["log", "--since", "1h"], ["log", "--verify"], ["log", "--verify", "--json"]] {
            s.run(argv, expect: 0)
        }

        // Scan: every file keyctl wrote (keystore, lock, log, usage, index, any
        // temporary) and every output.
        let files = Self.scan(s.box, keys: s.keys + [String(typo)], outputs: s.scanned)
        for name in ["keystore.json", "keystore.json.lock", "keystore.json.log", "keystore.json.usage"] {
            #expect(files.contains(name), "\(name) was not made, so not scanned: \(files)")
        }
        // The keystore holds digests: one per key, 64 hex digits.
        let keystore = String(decoding: s.box.keystoreBytes() ?? Data(), as: UTF8.self)
        #expect(keystore.components(separatedBy: "\"digest\":\"").count - 1 == s.keys.count)
        var st = stat()
        #expect(stat(s.box.keystore, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(stat(s.box.keystore + ".lock", &st) == 0 && st.st_mode & 0o777 == 0o600 && st.st_size == 0)
    }

    /// Every file in the keystore's directory (recursively) and every output in
    /// `outputs` is searched for any 12-character run of each key: a whole key, its
    /// base62 body, or a piece of either. Every file must also be the keystore owner's
    /// (the test's user) and readable by no one else (keyctl-keystore(5)). Returns the file names.
    @discardableResult
    static func scan(
        _ box: Sandbox, keys: [String], outputs: [(String, String)], sourceLocation: SourceLocation = #_sourceLocation
    ) -> [String] {
        var haystacks = outputs
        let files = (FileManager.default.enumerator(atPath: box.path)?.allObjects as? [String] ?? []).sorted()
        #expect(files.contains("keystore.json"), sourceLocation: sourceLocation)
        for file in files {
            let path = box.path + "/" + file
            let data = FileManager.default.contents(atPath: path) ?? Data()
            haystacks.append(("file \(file)", String(decoding: data, as: UTF8.self)))
            var st = stat()
            #expect(lstat(path, &st) == 0 && st.st_uid == geteuid(), "\(file) is not the keystore owner's", sourceLocation: sourceLocation)
            if st.st_mode & S_IFMT == S_IFREG {
                #expect(st.st_mode & 0o777 == 0o600, "\(file) has mode \(String(st.st_mode & 0o777, radix: 8))", sourceLocation: sourceLocation)
            }
        }
        var leaks: [String] = []
        for key in keys {
            let body = String(key.split(separator: "_").last ?? "")
            #expect(body.count >= 22, "no body in '\(key.prefix(12))…'", sourceLocation: sourceLocation)
            let chars = Array(key)
            let runs = Set((0...(chars.count - 12)).map { String(chars[$0..<$0 + 12]) })
            for (label, text) in haystacks {
                if text.contains(body) { leaks.append("\(label) holds the body of a key") }
                if let run = runs.first(where: { text.contains($0) }) {
                    leaks.append("\(label) holds '\(run)' of a key")
                }
            }
        }
        #expect(leaks.isEmpty, "secret leaked:\n\(leaks.joined(separator: "\n"))", sourceLocation: sourceLocation)
        return files
    }

    /// A version 1 keystore (made by keyctl 1.0, Tests/Fixtures/v1, whose keys are known)
    /// upgraded by a session of every writing command, prune included: the copy kept as PATH.v1, the log
    /// whose first entry snapshots every key, and everything else beside the keystore
    /// hold no piece of any key, old or new.
    @Test func anUpgradedKeystoreAndItsCopyHoldNoSecret() throws {
        let s = Session()
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/v1")
        let v1 = try Data(contentsOf: fixtures.appendingPathComponent("basic.json"))
        s.box.write(Array(v1))
        let old = String(decoding: try Data(contentsOf: fixtures.appendingPathComponent("basic.keys")), as: UTF8.self)
            .split(separator: "\n").compactMap { $0.split(separator: "\t").last.map(String.init) }
        #expect(old.count >= 2)
        for key in old { s.run(["verify", "--no-stamp"], stdin: key + "\n", expect: 0) }
        let made = Self.trimmed(s.deliver(["create", "after-upgrade"]).stdout)
        let rotated = Self.trimmed(s.deliver(["rotate", "ci"]).stdout)
        s.run(["verify"], stdin: made + "\n", expect: 0)
        s.run(["revoke", "after-upgrade"], expect: 0)
        s.run(["prune", "--revoked-before", "0s", "--dry-run"], expect: 0)
        s.run(["prune", "--revoked-before", "0s", "--json"], expect: 0)
        s.run(["log", "after-upgrade"], expect: 0)  // a pruned key's history
        for argv in [["log"], ["log", "--json"], ["log", "--verify"], ["list", "--all"]] { s.run(argv, expect: 0) }
        let files = Self.scan(s.box, keys: old + [made, rotated], outputs: s.scanned)
        #expect(files.contains("keystore.json.v1") && files.contains("keystore.json.log"), "\(files)")
        #expect(FileManager.default.contents(atPath: s.box.keystore + ".v1") == v1, "PATH.v1 is not the version 1 file byte for byte")
    }

    /// The key given to verify through stdin or --from-env never shows in the process's argv.
    @Test func verifyKeepsTheKeyOutOfArgv() throws {
        let box = Sandbox()
        let key = Self.trimmed(box.keyctl(["create", "k"]).stdout)
        let viaStdin = Child.keyctl(
            ["--keystore", box.keystore, "verify"],
            stdinPath: {
                let p = box.path + "/stdin"
                _ = FileManager.default.createFile(atPath: p, contents: Data((key + "\n").utf8))
                return p
            }(), outputIn: box.path, tag: "stdin")
        let viaEnv = Child.keyctl(
            ["--keystore", box.keystore, "verify", "--from-env", "API_KEY"], environment: ["API_KEY": key],
            outputIn: box.path, tag: "env")
        #expect(viaStdin.wait().exitStatus == 0, "\(viaStdin.stderr)")
        #expect(viaEnv.wait().exitStatus == 0, "\(viaEnv.stderr)")
        #expect(!viaStdin.stdout.contains(key) && !viaEnv.stdout.contains(key) && !viaStdin.stderr.contains(key))
    }
}
