// Hostile files: links, planted temporary files, unsafe modes, a keystore that
// is a directory, a FIFO, huge or nonsense. Each gets one clear line on stderr and its
// documented exit status, quickly; nothing is written through a link, nothing is changed,
// and nothing is created anywhere but the lock file beside the keystore.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite("Reliability: hostile files", .serialized)
struct ReliabilityHostileFileTests {
    static let writers: [[String]] = [["create", "x"], ["rotate", "a"], ["revoke", "a"]]
    static let readers: [[String]] = [["list"], ["show", "a"]]

    /// Runs `command` (with a 10 s guard, so a hang fails instead of blocking CI) and checks
    /// the common promises: the given exit status and code, one line in human form, nothing printed.
    @discardableResult
    static func refused(
        _ box: Sandbox, _ command: [String], status: Int32, code: String, mentions: String? = nil,
        stdin: String? = nil
    ) -> Run {
        let start = monotonicNow()
        let json = box.keyctl(["--json"] + command, stdin: stdin)
        let human = box.keyctl(command, stdin: stdin)
        let elapsed = monotonicNow() - start
        #expect(json.status == status, "\(command): exit \(json.status): \(json.stderr)")
        #expect(errorCode(json.stderr) == code, "\(command): \(json.stderr)")
        #expect(json.stdout.isEmpty, "\(command) printed \(json.stdout)")
        #expect(human.status == status)
        #expect(human.stderr.hasPrefix("keyctl: ") && human.stderr.split(separator: "\n").count == 1, "not one line: \(human.stderr)")
        if let mentions { #expect(human.stderr.contains(mentions), "\(command): \(human.stderr) lacks '\(mentions)'") }
        #expect(elapsed < 5, "\(command) took \(elapsed)s")
        return human
    }

    static func makeKeystore(_ box: Sandbox) -> [UInt8] {
        #expect(box.keyctl(["init"]).status == 0)
        #expect(box.keyctl(["create", "a"]).status == 0)
        #expect(box.keyctl(["create", "b"]).status == 0)
        return Array(box.keystoreBytes()!)
    }

    // MARK: Links

    @Test func symlinkedKeystoreIsRefusedAndNotWrittenThrough() throws {
        let box = Sandbox()
        let real = Sandbox()
        let original = Self.makeKeystore(real)
        symlink(real.keystore, box.keystore)
        for command in Self.writers + Self.readers + [["init"]] {
            Self.refused(box, command, status: 77, code: "PERMISSION_DENIED", mentions: "symbolic link")
        }
        #expect(Array(real.keystoreBytes()!) == original)
        #expect(real.entries() == ["keystore.json", "keystore.json.lock", "keystore.json.log"])
        // Only the (empty) lock file may appear beside the link: writers lock before they read.
        #expect(Set(box.entries()).isSubset(of: ["keystore.json", "keystore.json.lock"]), "created beside the link: \(box.entries())")
        var lockStat = stat()
        #expect(lstat(box.keystore + ".lock", &lockStat) != 0 || lockStat.st_size == 0)
        // verify too (exit 77, not a false "invalid key").
        let v = box.keyctl(["verify"], stdin: "ak_live_0000000000000000000000000000000000000\n")
        #expect(v.status == 77, "\(v.stderr)")
    }

    @Test func danglingSymlinkIsNotFollowedToCreateAFile() throws {
        let box = Sandbox()
        let outside = Sandbox()
        let target = outside.path + "/planted.json"
        symlink(target, box.keystore)
        for command in [["init"], ["create", "x"]] {
            Self.refused(box, command, status: 77, code: "PERMISSION_DENIED", mentions: "symbolic link")
        }
        #expect(!FileManager.default.fileExists(atPath: target), "a file was created through the link")
        #expect(outside.entries().isEmpty)
    }

    @Test func symlinkedLockFileIsRefused() throws {
        let box = Sandbox()
        let original = Self.makeKeystore(box)
        let outside = Sandbox()
        let target = outside.path + "/victim"
        unlink(box.keystore + ".lock")
        symlink(target, box.keystore + ".lock")
        for command in Self.writers {
            Self.refused(box, command, status: 77, code: "PERMISSION_DENIED", mentions: "lock file")
        }
        #expect(!FileManager.default.fileExists(atPath: target), "the lock was created through the link")
        #expect(Array(box.keystoreBytes()!) == original)
        #expect(box.keyctl(["list"]).status == 0, "readers take no lock")
    }

    // MARK: Planted temporary files

    /// Files named like keyctl's temporaries, planted before a write: readers ignore them,
    /// the write does not use them (O_EXCL on a fresh random name), and the writer removes
    /// only what keyctl itself would have left (issue 8 item 2): a regular file of the
    /// keystore's owner named exactly like a temporary of a process that is gone. Other
    /// names (`.keystore.json.tmp-prod`) and symbolic links are never deleted or followed.
    /// (Another user's planted temporary: SharedKeystoreTests, and .ci/steps/55-attacker.sh.)
    @Test func plantedTemporariesAreIgnoredAndOnlyOursRemoved() throws {
        let box = Sandbox()
        _ = Self.makeKeystore(box)
        let outside = Sandbox()
        let victim = outside.path + "/victim"
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
        chmod(victim, 0o644)
        let dangling = outside.path + "/would-be-created"
        let foreignNames = [".keystore.json.tmp-", ".keystore.json.tmp-zz", ".keystore.json.tmp-prod", ".keystore.json.tmp-1-00000000"]
        // keyctl 1.0's name, and keyctl 2's for a process id that cannot be running.
        let ours = [".keystore.json.tmp-0000000000000000", ".keystore.json.tmp-2147483646-00000000000000ff"]
        for name in foreignNames + ours { try Data("{\"version\":1,\"keys\":[".utf8).write(to: URL(fileURLWithPath: box.path + "/" + name)) }
        symlink(victim, box.path + "/.keystore.json.tmp-1111111111111111")
        symlink(dangling, box.path + "/.keystore.json.tmp-2222222222222222")
        let links = [".keystore.json.tmp-1111111111111111", ".keystore.json.tmp-2222222222222222"]
        // Readers see the real keystore only.
        #expect(try #require(box.records()).count == 2)
        // A write succeeds and removes keyctl's own leftovers only.
        let r = box.keyctl(["create", "c"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Set(box.temporaries()) == Set(foreignNames + links), "left: \(box.temporaries())")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n", "written through a planted link")
        var st = stat()
        #expect(stat(victim, &st) == 0 && st.st_mode & 0o777 == 0o644, "the link's target was chmod'ed")
        #expect(!FileManager.default.fileExists(atPath: dangling))
        #expect(try #require(box.records()).count == 3)
        #expect(Set(box.entries()) == Set(["keystore.json", "keystore.json.lock", "keystore.json.log"] + foreignNames + links), "\(box.entries())")
    }

    /// A directory planted under a temporary's name cannot be unlinked; the write still works.
    @Test func plantedTemporaryDirectoryDoesNotBlockWrites() throws {
        let box = Sandbox()
        _ = Self.makeKeystore(box)
        mkdir(box.path + "/.keystore.json.tmp-3333333333333333", 0o700)
        #expect(box.keyctl(["create", "c"]).status == 0)
        #expect(try #require(box.records()).count == 3)
    }

    // MARK: Unsafe modes and owners

    @Test(arguments: [0o620, 0o602, 0o666, 0o660])
    func writableByOthersKeystoreIsRefused(mode: Int) throws {
        let box = Sandbox()
        let original = Self.makeKeystore(box)
        chmod(box.keystore, mode_t(mode))
        for command in Self.writers + Self.readers {
            Self.refused(box, command, status: 77, code: "PERMISSION_DENIED", mentions: "chmod \(String(mode & ~0o22, radix: 8)) \(box.keystore)")
        }
        let v = box.keyctl(["verify"], stdin: "ak_live_0000000000000000000000000000000000000\n")
        #expect(v.status == 77, "verify must not trust a keystore others could plant a key in: \(v.stderr)")
        #expect(Array(box.keystoreBytes()!) == original)
        var st = stat()
        #expect(stat(box.keystore, &st) == 0 && Int(st.st_mode & 0o777) == mode, "keyctl changed the mode itself")
    }

    @Test(arguments: [0o770, 0o707, 0o777])
    func writableByOthersDirectoryIsRefused(mode: Int) throws {
        let box = Sandbox()
        let original = Self.makeKeystore(box)
        chmod(box.path, mode_t(mode))
        defer { chmod(box.path, 0o700) }
        for command in Self.writers + Self.readers {
            Self.refused(box, command, status: 77, code: "PERMISSION_DENIED", mentions: "chmod \(String(mode & ~0o22, radix: 8)) \(box.path)")
        }
        #expect(Array(box.keystoreBytes()!) == original)
        #expect(box.temporaries().isEmpty)
    }

    // MARK: Not a keystore file

    @Test func keystoreThatIsADirectory() throws {
        let box = Sandbox()
        mkdir(box.keystore, 0o700)
        for command in Self.writers + Self.readers + [["init"]] {
            Self.refused(box, command, status: 65, code: "KEYSTORE_CORRUPT", mentions: "is a directory")
        }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: box.keystore)) ?? ["?"]).isEmpty, "wrote into the directory")
    }

    /// A FIFO: opened without blocking, refused at once (no reader hangs waiting for a writer).
    @Test func keystoreThatIsAFIFODoesNotHang() throws {
        let box = Sandbox()
        #expect(mkfifo(box.keystore, 0o600) == 0)
        // Started as children with a deadline: a hang fails the test instead of blocking CI.
        for (n, command) in (Self.writers + Self.readers + [["init"], ["verify"]]).enumerated() {
            let child = Child.keyctl(["--keystore", box.keystore, "--json"] + command, stdinPath: "/dev/null", outputIn: box.path, tag: "fifo\(n)")
            let (ending, timedOut) = child.wait(atMost: 5)
            #expect(!timedOut, "\(command) hung on a FIFO")
            if command == ["verify"] {
                #expect(ending.exitStatus == 1 || ending.exitStatus == 65, "\(ending) \(child.stderr)")  // no key given: either is honest
            } else {
                #expect(ending.exitStatus == 65 && errorCode(child.stderr) == "KEYSTORE_CORRUPT", "\(command): \(ending) \(child.stderr)")
                #expect(child.stderr.contains("not a regular file"), "\(child.stderr)")
            }
            unlink(child.stdoutPath)
            unlink(child.stderrPath)
        }
        var st = stat()
        #expect(lstat(box.keystore, &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
    }

    /// A 1,100 MiB sparse file: refused from its size, in well under a second, without reading it.
    @Test func hugeKeystoreIsRefusedFast() throws {
        let box = Sandbox()
        #expect(sh("truncate -s 1100M \(shq(box.keystore)) && chmod 600 \(shq(box.keystore))").status == 0)
        for command in Self.writers + Self.readers {
            let start = monotonicNow()
            Self.refused(box, command, status: 65, code: "KEYSTORE_CORRUPT", mentions: "1 GiB")
            #expect(monotonicNow() - start < 2)
        }
        var st = stat()
        #expect(stat(box.keystore, &st) == 0 && st.st_size == 1100 << 20)
    }

    // MARK: Nonsense content

    static let record =
        #"{"id":"key_A","name":"n","digest":"0000000000000000000000000000000000000000000000000000000000000000","hint":"ak_live_…AAAA","environment":"live","permissions":["read"],"created_at":"2026-01-01T00:00:00Z","expires_at":null,"revoked_at":null,"last_used_at":null,"rotated_from":null,"rotated_to":null}"#
    static func keystore(_ records: [String]) -> [UInt8] {
        Array(("{\"version\":1,\"prefix\":\"ak\",\"max_keys\":10,\"keys\":[\n" + records.joined(separator: ",\n") + "\n]}\n").utf8)
    }

    static let corrupt: [(String, [UInt8])] = [
        ("empty file", []),
        ("100,000 [", Array(repeating: UInt8(ascii: "["), count: 100_000)),
        ("100,000 {\"a\":", Array(String(repeating: "{\"a\":", count: 100_000).utf8)),
        (
            "nesting inside keys",
            Array("{\"version\":1,\"prefix\":\"ak\",\"max_keys\":10,\"keys\":[".utf8) + Array(repeating: UInt8(ascii: "["), count: 100_000)
        ),
        ("duplicate ids", keystore([record, record.replacingOccurrences(of: "\"0000", with: "\"1111")])),
        ("digest of the wrong length", keystore([record.replacingOccurrences(of: "\"0000000000000000", with: "\"00")])),
        ("digest not hex", keystore([record.replacingOccurrences(of: "\"0000000000000000", with: "\"ZZZZZZZZZZZZZZZZ")])),
        ("invalid UTF-8", keystore([record.replacingOccurrences(of: "\"name\":\"n\"", with: "\"name\":\"n\u{1}\"")]).map { $0 == 1 ? 0xFF : $0 }),
        ("NUL byte", keystore([record]).map { $0 == UInt8(ascii: "n") ? 0 : $0 }),
        ("NUL byte in a string", keystore([record.replacingOccurrences(of: "\"name\":\"n\"", with: "\"name\":\"n\u{1}\"")]).map { $0 == 1 ? 0 : $0 }),
        ("truncated", Array(keystore([record, record]).dropLast(40))),
        ("future version", Array("{\"version\":2,\"prefix\":\"ak\",\"max_keys\":10,\"keys\":[]}".utf8)),
        ("unknown field", keystore([record.replacingOccurrences(of: "{\"id\"", with: "{\"x\":1,\"id\"")])),
        ("bad time", keystore([record.replacingOccurrences(of: "2026-01-01T00:00:00Z", with: "2026-02-30T00:00:00Z")])),
        ("huge number", Array("{\"version\":1,\"prefix\":\"ak\",\"max_keys\":1\(String(repeating: "0", count: 5000)),\"keys\":[]}".utf8)),
        ("long string", Array("{\"version\":1,\"prefix\":\"\(String(repeating: "a", count: 1 << 20))\",\"max_keys\":10,\"keys\":[]}".utf8)),
        ("trailing garbage", keystore([record]) + Array("{}".utf8)),
        (
            "two names in use",
            keystore([record, record.replacingOccurrences(of: "key_A", with: "key_B").replacingOccurrences(of: "\"0000", with: "\"1111")])
        ),
    ]

    @Test(arguments: corrupt.indices)
    func corruptKeystoreIsNeverOverwritten(index: Int) throws {
        let (what, bytes) = Self.corrupt[index]
        let box = Sandbox()
        box.write(bytes)
        for command in Self.writers + Self.readers + [["init"]] {
            let expected: (Int32, String) = command == ["init"] ? (5, "KEYSTORE_EXISTS") : (65, "KEYSTORE_CORRUPT")
            if command == ["init"] {
                // init refuses any existing file, corrupt or not.
                let r = box.keyctl(["--json", "init"])
                #expect(r.status == 65 || r.status == 5, "\(what): init: \(r.stderr)")
                continue
            }
            let r = Self.refused(box, command, status: expected.0, code: expected.1, mentions: box.keystore)
            #expect(r.stderr.count < 600, "\(what): message too long (\(r.stderr.count) bytes)")
        }
        let v = box.keyctl(["verify"], stdin: "ak_live_0000000000000000000000000000000000000\n")
        #expect(v.status == 65, "\(what): verify must report the corrupt keystore: \(v.stderr)")
        #expect(box.keystoreBytes().map(Array.init) == bytes, "\(what): the file changed")
        #expect(Set(box.entries()).isSubset(of: ["keystore.json", "keystore.json.lock"]), "\(what): created \(box.entries())")
    }

    /// The decoder is schema-driven and never recurses: deep nesting is refused at the
    /// first bracket the schema does not allow, at any depth, without reading further.
    @Test func deepNestingInProcess() {
        let head = Array("{\"version\":1,\"prefix\":\"ak\",\"max_keys\":10,\"keys\":[".utf8)
        for depth in [1_000, 100_000, 1_000_000] {
            let brackets = Array(repeating: UInt8(ascii: "["), count: depth)
            for (bytes, limit) in [
                (brackets, 1), (head + brackets, head.count + 1), (head + Array(repeating: UInt8(ascii: "{"), count: depth), head.count + 2),
            ] {
                do {
                    _ = try KeystoreCodec.decode(bytes)
                    Issue.record("decoded \(depth) brackets")
                } catch {
                    #expect((error.offset ?? .max) <= limit, "fault at \(error.offset ?? -1), not at the first bracket")
                }
            }
        }
    }
}
