// Lock contention: a writer that cannot get `<keystore>.lock` within
// KEYCTL_LOCK_TIMEOUT seconds fails with KEYSTORE_BUSY (exit 75) after about that long;
// readers never wait; a holder killed with SIGKILL leaves no stale lock.
// The holder is util-linux flock(1) style: bash opens the lock file, locks it with
// `flock 9`, says "ready", and execs sleep, which keeps the locked descriptor.

import Foundation
import Testing

@Suite("Reliability: lock contention", .serialized)
struct ReliabilityLockTests {
    /// A process holding the keystore's lock until killed.
    final class Holder {
        let process = Process()

        init(lockPath: String) throws {
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", "exec 9>>\(shq(lockPath)) && flock -x 9 && echo ready && exec sleep 120"]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            // Wait for "ready": from then on the lock is held.
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("ready") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += chunk
            }
            precondition(String(decoding: seen, as: UTF8.self).contains("ready"), "lock holder did not start")
        }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static var flockAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/flock") || FileManager.default.isExecutableFile(atPath: "/bin/flock")
    }

    @Test(.enabled(if: flockAvailable, "flock(1) from util-linux is not installed"))
    func busyAfterTheTimeoutAndNotBefore() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init"]).status == 0)
        #expect(box.keyctl(["create", "a"]).status == 0)
        let key = box.keyctl(["create", "b"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let before = box.keystoreBytes()
        let holder = try Holder(lockPath: box.keystore + ".lock")
        defer { holder.kill9() }

        for (command, timeout) in [(["create", "c"], 1.5), (["revoke", "a"], 1.0), (["rotate", "b"], 0.0)] {
            let (r, elapsed) = timedKeyctl(
                ["--keystore", box.keystore, "--json"] + command,
                environment: ["KEYCTL_LOCK_TIMEOUT": "\(timeout)"])
            #expect(r.status == 75, "\(command): \(r.stderr)")
            #expect(errorCode(r.stderr) == "KEYSTORE_BUSY")
            #expect(r.stderr.contains("KEYCTL_LOCK_TIMEOUT"), "the message says what to do: \(r.stderr)")
            #expect(elapsed >= timeout && elapsed < timeout + 1, "\(command) with timeout \(timeout) took \(elapsed)s")
            #expect(r.stdout.isEmpty)
        }
        // Human form: one line.
        let human = box.keyctl(["create", "d"], environment: ["KEYCTL_LOCK_TIMEOUT": "0"])
        #expect(human.status == 75)
        #expect(human.stderr.hasPrefix("keyctl: ") && human.stderr.split(separator: "\n").count == 1, "\(human.stderr)")
        #expect(box.keystoreBytes() == before, "nothing written while the lock was held")

        // Readers never take the lock: list and verify answer at once, even with the default 10 s timeout.
        let (list, listTime) = timedKeyctl(["--keystore", box.keystore, "list"])
        #expect(list.status == 0 && listTime < 1.5)
        let (verify, verifyTime) = timedKeyctl(["--keystore", box.keystore, "verify"], stdin: key + "\n")
        #expect(verify.status == 0, "a busy keystore must not fail a valid key: \(verify.stderr)")
        #expect(verifyTime < 1.5, "verify waited \(verifyTime)s for the lock")
    }

    @Test(.enabled(if: flockAvailable, "flock(1) from util-linux is not installed"))
    func killedHolderLeavesNoStaleLock() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init"]).status == 0)
        let holder = try Holder(lockPath: box.keystore + ".lock")
        #expect(box.keyctl(["create", "x"], environment: ["KEYCTL_LOCK_TIMEOUT": "0"]).status == 75)
        // A writer waiting for the lock gets it as soon as the holder dies.
        let waiter = Child.keyctl(
            ["--keystore", box.keystore, "create", "waiter"], environment: ["KEYCTL_LOCK_TIMEOUT": "8"],
            outputIn: box.path, tag: "waiter")
        let start = monotonicNow()
        holder.kill9()
        let ending = waiter.wait()
        #expect(ending.exitStatus == 0, "\(waiter.stderr)")
        #expect(monotonicNow() - start < 4, "the waiter did not get the lock promptly after the holder died")
        // And a single try (timeout 0) succeeds: nothing stale.
        let (next, elapsed) = timedKeyctl(["--keystore", box.keystore, "create", "next"], environment: ["KEYCTL_LOCK_TIMEOUT": "0"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(elapsed < 1)
        // The lock file stays (deleting it would let two writers lock different files).
        #expect(FileManager.default.fileExists(atPath: box.keystore + ".lock"))
    }

    /// A keyctl killed with SIGKILL while it holds the lock (mid-write) leaves none either.
    @Test func killedKeyctlLeavesNoStaleLock() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init", "--max-keys", "100"]).status == 0)
        var generator = SystemRandomNumberGenerator()
        for i in 0..<20 {
            let child = Child.keyctl(["--keystore", box.keystore, "create", "k\(i)"], outputIn: box.path, tag: "k")
            usleep(UInt32.random(in: 0...15_000, using: &generator))
            child.kill9()
            child.wait()
            let r = box.keyctl(["rotate", "--expiring-within", "1d"], environment: ["KEYCTL_LOCK_TIMEOUT": "0"])
            #expect(r.status == 0, "after kill \(i): \(r.stderr)")
        }
    }

    @Test func badLockTimeoutIsAUsageError() {
        let box = Sandbox()
        for value in ["-1", "abc", "1e9", "nan"] {
            let r = box.keyctl(["create", "x"], environment: ["KEYCTL_LOCK_TIMEOUT": value])
            #expect(r.status == 64, "KEYCTL_LOCK_TIMEOUT=\(value): \(r.stderr)")
            #expect(r.stderr.contains("KEYCTL_LOCK_TIMEOUT"))
        }
        #expect(box.keystoreBytes() == nil)
    }
}
