// "A crash or kill -9 at any moment leaves either the old or the new keystore":
// real SIGKILLs at spread-out moments of `create` and `rotate`, and an injected fault at
// each step of the write path (in process, through the Context's faultInjection hook).

import Foundation
import Testing

@testable import KeyCtlCore

@Suite("Reliability: crashes", .serialized)
struct ReliabilityCrashTests {
    /// The record ids of a keystore's bytes, decoded by keyctl's own strict decoder; nil if it does not decode.
    static func strictIDs(_ bytes: [UInt8]) -> [String]? {
        guard let keystore = try? KeystoreCodec.decode(bytes) else { return nil }
        return keystore.keys.map(\.id)
    }

    /// 240 runs of `create` / `rotate`, each killed with SIGKILL after a random delay
    /// spread over the command's whole run time (measured first). After every kill the
    /// keystore is byte-for-byte the old one, or a valid keystore that is the old one
    /// plus exactly one new record (and, for rotate, the old key pointing at it).
    @Test func sigkillAtAnyMomentLeavesOldOrNew() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init", "--max-keys", "1000"]).status == 0)
        for i in 0..<3 { #expect(box.keyctl(["create", "r\(i)"]).status == 0) }

        // How long one command takes here, so the kills land across all of it.
        var durations: [Double] = []
        for i in 0..<5 {
            let (run, seconds) = timedKeyctl(["--keystore", box.keystore, "rotate", "r\(i % 3)"])
            #expect(run.status == 0)
            durations.append(seconds)
        }
        let span = durations.sorted()[2] * 1.3
        var generator = SystemRandomNumberGenerator()

        var outcomes = ["old": 0, "new": 0, "finished": 0, "temporary left": 0]
        let iterations = 240
        for i in 0..<iterations {
            let before = Array(try #require(box.keystoreBytes()))
            let beforeIDs = try #require(Self.strictIDs(before))
            let isCreate = i % 2 == 0
            let target = "r\(i % 3)"
            let args = ["--keystore", box.keystore] + (isCreate ? ["create", "n\(i)"] : ["rotate", target])
            let child = Child.keyctl(args, outputIn: box.path, tag: "kill")
            let delay = Double.random(in: 0...span, using: &generator)
            usleep(UInt32(delay * 1e6))
            child.kill9()
            let ending = child.wait()

            let after = Array(try #require(box.keystoreBytes(), "keystore vanished after kill \(i)"))
            if !box.temporaries().isEmpty { outcomes["temporary left"]! += 1 }
            // Readers ignore a leftover temporary file, and it holds no secret (only digests
            // and hints: no `_live_` followed by more than the hint's four characters).
            if !box.temporaries().isEmpty {
                #expect(box.keyctl(["list", "--json"]).status == 0)
                for name in box.temporaries() {
                    let text = String(decoding: FileManager.default.contents(atPath: box.path + "/" + name) ?? Data(), as: UTF8.self)
                    #expect(text.range(of: "_live_[0-9A-Za-z]{5,}", options: .regularExpression) == nil, "\(name) holds a key")
                }
            }
            if ending.exitStatus != nil {
                outcomes["finished"]! += 1
                #expect(ending.exitStatus == 0, "run \(i) failed without being killed: \(child.stderr)")
            }
            if after == before {
                outcomes["old"]! += 1
                #expect(ending.exitStatus == nil, "run \(i) reported success but the keystore did not change")
                continue
            }
            outcomes["new"]! += 1
            let afterIDs = try #require(
                Self.strictIDs(after), "run \(i): torn keystore after SIGKILL at \(delay)s:\n\(String(decoding: after, as: UTF8.self))")
            #expect(Array(afterIDs.prefix(beforeIDs.count)) == beforeIDs, "run \(i): existing records changed order or vanished")
            #expect(afterIDs.count == beforeIDs.count + 1, "run \(i): expected exactly one new record")
            if !isCreate, let keystore = try? KeystoreCodec.decode(after), let newID = afterIDs.last {
                let old = keystore.keys.filter { $0.rotatedTo == newID }
                #expect(old.count == 1 && old[0].revokedAt != nil, "run \(i): rotation half applied")
            }
        }
        // No stale lock (a zero timeout means one try), and the next write removes leftovers.
        let plantedName = ".keystore.json.tmp-00deadbeef00cafe"
        _ = FileManager.default.createFile(atPath: box.path + "/" + plantedName, contents: Data("{\"torn\":".utf8))
        let next = box.keyctl(["create", "after-kills"], environment: ["KEYCTL_LOCK_TIMEOUT": "0"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(box.temporaries().isEmpty, "left over after the next write: \(box.temporaries())")
        #expect(try #require(box.records()).count == Self.strictIDs(Array(box.keystoreBytes()!))!.count)
        // The kills must really have landed on both sides of the write.
        #expect(outcomes["old"]! > 0 && outcomes["new"]! - outcomes["finished"]! > 0, "kills did not cover the write: \(outcomes)")
        print("sigkill outcomes over \(iterations) kills (span \(Int(span * 1000)) ms): \(outcomes)")
    }

    // MARK: Injected faults

    final class Output: @unchecked Sendable {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
    }

    static func context(_ output: Output, fault: @escaping (String) throws -> Void) -> Context {
        var context = Context(
            environment: { _ in nil },
            now: { 1_800_000_000 },
            randomBytes: { count in (0..<count).map { _ in UInt8.random(in: 0...255) } },
            readLine: { nil },
            writeStdout: {
                output.stdout += $0; return true
            },
            writeStderr: {
                output.stderr += $0; return true
            })
        context.faultInjection = fault
        return context
    }

    struct InjectedFault: Error {}

    /// A failure at each step before the rename (write, fsync, close/rename) is IO_ERROR
    /// with the old keystore intact, no temporary file, and no key printed. A crash right
    /// after the rename leaves the new keystore. For create, rotate and revoke.
    @Test(arguments: ["written", "synced", "renamed"])
    func faultAtEachStepOfTheWrite(step: String) throws {
        let commands: [[String]] = [["create", "new"], ["rotate", "base"], ["revoke", "other"]]
        for command in commands {
            let box = Sandbox()
            #expect(box.keyctl(["init"]).status == 0)
            #expect(box.keyctl(["create", "base"]).status == 0)
            #expect(box.keyctl(["create", "other"]).status == 0)
            let before = Array(try #require(box.keystoreBytes()))
            let output = Output()
            var steps: [String] = []
            let context = Self.context(output) { at in
                steps.append(at)
                if at == step { throw KeyCtlError(.ioError, "injected fault at \(at)") }
            }
            let status = KeyCtl.run(["--keystore", box.keystore, "--json"] + command, context: context)
            let after = Array(try #require(box.keystoreBytes()))
            #expect(status == 74, "\(command) at \(step): exit \(status)")
            #expect(errorCode(String(decoding: output.stderr, as: UTF8.self)) == "IO_ERROR")
            #expect(box.temporaries().isEmpty, "\(command) at \(step) left \(box.temporaries())")
            #expect(steps.last == step)
            if step == "renamed" {
                // Past the point of no return (a crash right after the rename): the new
                // keystore, whole; its data was printed before the rename (stdout is part
                // of the change), so a key that was printed is the key that was kept.
                #expect(after != before)
                #expect(Self.strictIDs(after) != nil)
            } else {
                #expect(!String(decoding: output.stdout, as: UTF8.self).contains("ak_live_"), "a key was printed for a failed write")
                #expect(after == before, "\(command) at \(step): keystore changed")
            }
            // The next ordinary command works, with no stale lock.
            #expect(box.keyctl(["list"], environment: ["KEYCTL_LOCK_TIMEOUT": "0"]).status == 0)
        }
    }

    /// Without faults, the hook sees the three steps in order: the write path really is
    /// write → fsync → rename.
    @Test func writePathStepsInOrder() throws {
        let box = Sandbox()
        var steps: [String] = []
        let output = Output()
        let status = KeyCtl.run(["--keystore", box.keystore, "create", "x"], context: Self.context(output) { steps.append($0) })
        #expect(status == 0)
        #expect(steps == ["written", "synced", "renamed"])
        #expect(box.temporaries().isEmpty)
        var st = stat()
        #expect(stat(box.keystore, &st) == 0 && st.st_mode & 0o777 == 0o600)
    }
}
