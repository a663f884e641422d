// verify reads back every form `create --format` prints (keyctl(1) COMMANDS) with the same
// answer as the bare key, for every status; anything else with a space in it is
// malformed. Also verify --json's negative answers (issue 8 item 19), --no-stamp and
// --batch, in-process with a clock the test moves.

import Foundation
import Testing

@testable import KeyCtlCore

/// A keystore in a private directory and a clock; `run` is one keyctl invocation.
final class VerifyWorld {
    let directory: String
    var keystore: String { directory + "/keystore.json" }
    var now: Timestamp = 1_800_000_000
    /// The clocks and file-system answers the run sees (the index's settle time).
    var system = SystemSeam()
    private var state: UInt64 = 0x5eed

    init() {
        var template = Array((NSTemporaryDirectory() + "/keyctl-verify-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        directory = String(cString: made!)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs keyctl; `input` is standard input, served to --batch a chunk at a time
    /// (`between` runs before each chunk after the first).
    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, chunks: [[UInt8]] = [], between: @escaping (Int) -> Void = { _ in }) -> Output {
        let env = ["KEYCTL_KEYSTORE": keystore, "HOME": directory]
        let output = CapturedOutput()
        var context = output.context(
            environment: { env[$0] },
            now: { [unowned self] in self.now },
            randomBytes: { [unowned self] count in
                (0..<count).map { _ in
                    self.state = self.state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return UInt8(truncatingIfNeeded: self.state >> 33)
                }
            },
            readLine: { stdin.map { String($0.prefix { $0 != "\n" }) } })
        context.system = system
        // Chunk i+1 is served only once chunk i is used up and `between(i+1)` has run,
        // so the lines of chunk i were answered before the world changed.
        var pending = chunks[...]
        var offset = 0
        var served = 0
        context.readInput = { buffer in
            guard let chunk = pending.first else { return 0 }
            if offset == 0 && served > 0 { between(served) }
            let n = min(chunk.count - offset, buffer.count)
            buffer.copyBytes(from: chunk[offset..<(offset + n)])
            offset += n
            if offset == chunk.count {
                pending.removeFirst()
                offset = 0
                served += 1
            }
            return n
        }
        let status = KeyCtl.run(arguments, context: context)
        return Output(status: status, stdout: output.stdoutText, stderr: output.stderrText)
    }

    /// `create` with --json: the key and its id.
    func create(_ name: String, _ options: [String] = []) throws -> (key: String, id: String) {
        let r = run(["--json", "create", name] + options)
        try #require(r.status == 0, "create \(name): \(r.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return (try #require(record["key"] as? String), try #require(record["id"] as? String))
    }

    func bytes() -> Data? { FileManager.default.contents(atPath: keystore) }
}

func jsonObject(_ line: Substring) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}

/// Every form a presented key may take, each with a name for failure messages.
func presentedForms(of key: String) -> [(String, String)] {
    func b64(_ s: String) -> String { Base64.encode(Array(s.utf8)) }
    return [
        ("raw", key),
        ("bearer", "Authorization: Bearer \(key)"),
        ("bare bearer", "Bearer \(key)"),
        ("lower-case header and scheme", "authorization: bearer \(key)"),
        ("tab and no space after the colon", "AUTHORIZATION:BEARER\t\(key)"),
        ("basic", "Authorization: Basic \(b64(key))"),
        ("bare basic", "Basic \(b64(key))"),
        ("basic user with empty password", "Authorization: Basic \(b64(key + ":"))"),
        ("basic password with empty user", "Basic \(b64(":" + key))"),
        ("x-api-key", "x-api-key: \(key)"),
        ("X-Api-Key without space", "X-Api-Key:\(key)"),
        ("env", "KEYCTL_API_KEY=\(key)"),
        ("surrounding whitespace", "  \tBearer \(key) \r"),
    ]
}

@Suite struct VerifyFormsTests {
    /// A keystore with a key of every status, and the keys.
    static func world() throws -> (VerifyWorld, [(String, String)]) {
        let w = VerifyWorld()
        let active = try w.create("active")
        let expiring = try w.create("expiring", ["--expires-in", "1h"])
        let revoked = try w.create("revoked")
        let old = try w.create("rotated")
        let graced = try w.create("graced")
        let writer = try w.create("writer", ["--permissions", "write", "--env", "test"])
        #expect(w.run(["revoke", "revoked"]).status == 0)
        #expect(w.run(["rotate", old.id]).status == 0)
        #expect(w.run(["rotate", graced.id, "--grace", "2h"]).status == 0)
        let retiring = try w.create("retiring")
        #expect(w.run(["rotate", retiring.id, "--grace", "7d"]).status == 0)
        w.now += 3 * 3600  // expiring has expired, graced's grace has ended
        // A key of the right shape the keystore does not know, and one with a bad checksum.
        let stranger = APIKey.generate(prefix: "ak", environment: .live) { Array(repeating: 7, count: $0) }.text
        var typo = Array(active.key)
        typo[12] = typo[12] == "a" ? "b" : "a"
        return (
            w,
            [
                ("active", active.key), ("expired", expiring.key), ("revoked", revoked.key), ("rotated", old.key),
                ("grace ended", graced.key), ("retiring", retiring.key), ("forbidden", writer.key),
                ("unknown", stranger), ("bad checksum", String(typo)), ("other prefix", "zz" + active.key.dropFirst(2)),
            ]
        )
    }

    @Test func everyFormAnswersLikeTheBareKeyForEveryStatus() throws {
        let (w, keys) = try Self.world()
        var statuses: Set<Int32> = []
        for (status, key) in keys {
            let bare = w.run(["--json", "verify", "--no-stamp", "--require", "read"], stdin: key + "\n")
            statuses.insert(bare.status)
            for (form, text) in presentedForms(of: key) {
                let r = w.run(["--json", "verify", "--no-stamp", "--require", "read"], stdin: text + "\n")
                #expect(r.status == bare.status, "\(status) key as \(form): \(r.stdout)")
                #expect(r.stdout == bare.stdout, "\(status) key as \(form)")
                let human = w.run(["verify", "--no-stamp", "--require", "read"], stdin: text + "\n")
                #expect(human.status == bare.status, "\(status) key as \(form), human")
                let argument = w.run(["verify", "--no-stamp", "--require", "read", text])
                #expect(argument.status == bare.status, "\(status) key as \(form), argument")
            }
        }
        // Every answer verify has was exercised: valid, invalid, expired, revoked, forbidden.
        #expect(statuses == [0, 1, 2, 3, 4])
    }

    @Test func anythingElseIsMalformed() throws {
        let (w, keys) = try Self.world()
        let key = keys[0].1
        func b64(_ s: String) -> String { Base64.encode(Array(s.utf8)) }
        let b = b64(key)
        let bad = [
            "Authorization: Token \(key)", "Authorization: \(key)", "Authorization: Bearer", "Bearer",
            "Bearer \(key) extra", "Bearer \(key) \(key)", "\(key) trailing", "x-api-key \(key)", "api-key: \(key)",
            "Basic \(b)!", "Basic \(b.dropLast())", "Basic \(b64("user:" + key))", "Basic \(b64(key + ":x"))",
            "Basic \(b64("::" + key))", "Basic \(b64(" " + key))", "Basic \(b64("Bearer " + key))", "Basic ====",
            "Basic \(b64(key).replacingOccurrences(of: "=", with: ""))x", "Bearer\u{A0}\(key)", "Bearer\n\(key)",
            "KEYCTL_API_KEY= \(key)", "keyctl_api_key=\(key)", "x-api-key: Bearer \(key)", "Bearer Bearer \(key)",
            "Basic \(b64("Bearer " + key))", "Bearer \(b)", "\(key)\u{0}", "Bear er \(key)", "x-api-key:",
            "Authorization: Basic", "Basic \(b64(":"))", "Basic \(b64(""))",
        ]
        for text in bad {
            let r = w.run(["--json", "verify", "--no-stamp"], stdin: text + "\n")
            #expect(r.status == 1, "\(text.debugDescription): \(r.stdout)")
            let answer = try #require(jsonObject(r.stdout[...]))
            #expect(answer["code"] as? String == "INVALID_API_KEY", "\(text.debugDescription)")
            // Nothing shaped like a key is echoed back.
            #expect(!r.stdout.contains(key) && !r.stdout.contains(b))
        }
        #expect(w.run(["verify", "--no-stamp"], stdin: "   \n").status == 1)
        #expect(jsonObject(w.run(["--json", "verify"], stdin: " \t \n").stdout[...])?["code"] as? String == "MISSING_API_KEY")
    }

    @Test func base64IsStrict() {
        #expect(Base64.decode(Array("YWI=".utf8)) == Array("ab".utf8))
        #expect(Base64.decode(Array("YQ==".utf8)) == Array("a".utf8))
        #expect(Base64.decode(Array("".utf8)) == [])
        for bad in ["YQ", "YQ=", "Y===", "YQ==YQ==", "Y=Q=", "YW I=", "YWI-", "YWJj\n"] {
            #expect(Base64.decode(Array(bad.utf8)) == nil, "\(bad)")
        }
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Array(Base64.encode(bytes).utf8)) == bytes)
        }
    }

    /// Issue 8 item 19: 1.0's negative answers did not say which key it was.
    @Test func negativeJSONAnswersNameARecognisedKey() throws {
        let (w, keys) = try Self.world()
        let expected: [String: (String, String?)] = [
            "expired": ("EXPIRED_API_KEY", "expires_at"), "revoked": ("REVOKED_API_KEY", "revoked_at"),
            "rotated": ("REVOKED_API_KEY", "revoked_at"), "grace ended": ("REVOKED_API_KEY", "revoked_at"),
            "forbidden": ("FORBIDDEN", nil), "unknown": ("INVALID_API_KEY", nil), "bad checksum": ("INVALID_API_KEY", nil),
        ]
        for (status, key) in keys {
            guard let (code, field) = expected[status] else { continue }
            let r = w.run(["--json", "verify", "--require", "read"], stdin: key + "\n")
            let answer = try #require(jsonObject(r.stdout[...]), "\(status): \(r.stdout)")
            #expect(answer["valid"] as? Bool == false)
            #expect(answer["code"] as? String == code, "\(status)")
            let recognised = code != "INVALID_API_KEY"
            #expect((answer["id"] as? String ?? "").hasPrefix("key_") == recognised, "\(status): \(r.stdout)")
            #expect((answer["name"] is String) == recognised, "\(status)")
            if let field { #expect(answer[field] is String, "\(status): \(field) in \(r.stdout)") }
            if recognised { #expect(answer.keys.contains("expires_at") && answer.keys.contains("revoked_at")) }
        }
    }

    @Test func noStampLeavesTheKeystoreAlone() throws {
        let w = VerifyWorld()
        let key = try w.create("a").key
        let before = w.bytes()
        #expect(w.run(["verify", "--no-stamp"], stdin: key + "\n").status == 0)
        #expect(w.run(["verify", "--no-stamp", "--batch"], chunks: [Array((key + "\n" + key + "\n").utf8)]).status == 0)
        #expect(w.bytes() == before)
        #expect(!FileManager.default.fileExists(atPath: w.keystore + ".usage"), "--no-stamp wrote a usage stamp")
        #expect(w.run(["verify"], stdin: key + "\n").status == 0)
        #expect(w.bytes() == before, "verify never rewrites the keystore")
        #expect(FileManager.default.fileExists(atPath: w.keystore + ".usage"), "a verify without --no-stamp records the use")
    }
}
