// Disk faults: a write that cannot complete (file-size limit, full disk, read-only file
// system, unwritable standard output) fails with IO_ERROR (exit 74), leaves the old
// keystore byte for byte, and leaves no temporary file behind.

import Foundation
import Testing

@Suite("Reliability: disk faults", .serialized)
struct ReliabilityDiskTests {
    /// A keystore of about 2 KiB (five keys).
    static func seeded(_ box: Sandbox, at keystore: String? = nil) -> [UInt8] {
        let path = keystore ?? box.keystore
        #expect(runKeyctl(["--keystore", path, "init"]).status == 0)
        for i in 0..<5 { #expect(runKeyctl(["--keystore", path, "create", "k\(i)"]).status == 0) }
        return Array(FileManager.default.contents(atPath: path) ?? Data())
    }

    /// RLIMIT_FSIZE of 1 KiB (`ulimit -f 1`): the new keystore cannot be written.
    /// keyctl ignores SIGXFSZ, so the write fails with EFBIG and keyctl reports it.
    @Test(arguments: [["create", "big"], ["rotate", "k1"], ["revoke", "k2"]])
    func fileSizeLimit(command: [String]) throws {
        let box = Sandbox()
        let before = Self.seeded(box)
        #expect(before.count > 1024)
        let line = "ulimit -f 1; exec \(shq(Binary.path)) --keystore \(shq(box.keystore)) --json \(command.map(shq).joined(separator: " "))"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", line]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit, "killed by a signal (SIGXFSZ not ignored?)")
        #expect(p.terminationStatus == 74, "\(stderr)")
        #expect(errorCode(stderr) == "IO_ERROR", "\(stderr)")
        #expect(stderr.contains("too large"), "\(stderr)")
        #expect(stdout.isEmpty, "printed on a failed write")
        #expect(Array(box.keystoreBytes()!) == before)
        #expect(box.temporaries().isEmpty, "left \(box.temporaries())")
        // Without the limit, the same command works.
        #expect(box.keyctl(command).status == 0)
    }

    /// stdout that cannot take the new key (/dev/full): the key is not kept — the old
    /// keystore is put back — so a key nobody saw never takes a slot.
    @Test(arguments: [["create", "unseen"], ["rotate", "k3"]])
    func unwritableStdoutKeepsNoKey(command: [String]) throws {
        let box = Sandbox()
        let before = Self.seeded(box)
        let r = sh("exec \(shq(Binary.path)) --keystore \(shq(box.keystore)) \(command.map(shq).joined(separator: " ")) >/dev/full")
        #expect(r.status == 74, "\(r.output)")
        #expect(r.output.contains("standard output"), "\(r.output)")
        #expect(r.output.split(separator: "\n").count == 1, "one line: \(r.output)")
        #expect(Array(box.keystoreBytes()!) == before)
        #expect(box.temporaries().isEmpty)
    }

    /// A full file system: a 64 KiB tmpfs filled to the last block. Needs mount(2).
    @Test(.enabled(if: mountsAvailable, "mount(2) is not permitted here, so no small tmpfs; the file-size-limit test covers the same write error"))
    func fullDisk() throws {
        let box = Sandbox()
        guard let fs = SmallTmpfs(in: box, size: "64k") else { Issue.record("tmpfs mount failed"); return }
        defer { fs.unmount() }
        let keystore = fs.mountPoint + "/keystore.json"
        let before = Self.seeded(box, at: keystore)
        // Fill what is left.
        _ = sh("dd if=/dev/zero of=\(shq(fs.mountPoint + "/filler")) bs=4096 2>/dev/null")
        let r = runKeyctl(["--keystore", keystore, "--json", "create", "one-more"])
        #expect(r.status == 74, "\(r.stderr)")
        #expect(errorCode(r.stderr) == "IO_ERROR")
        #expect(r.stderr.contains("free some disk space"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(Array(FileManager.default.contents(atPath: keystore)!) == before)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: fs.mountPoint))?.filter { $0.contains(".tmp-") } ?? []
        #expect(leftovers.isEmpty, "left \(leftovers)")
        // Room again: it works.
        unlink(fs.mountPoint + "/filler")
        #expect(runKeyctl(["--keystore", keystore, "create", "one-more"]).status == 0)
    }

    /// A read-only file system (tmpfs remounted ro). As root, chmod 555 would not stop a
    /// write, so a real read-only mount is the only honest test; it needs mount(2).
    /// Writes fail with IO_ERROR and change nothing; reads and verify still work.
    @Test(
        .enabled(
            if: mountsAvailable,
            "mount(2) is not permitted here and tests run as root (chmod does not stop root); the fault-injection tests cover the failed-write path"))
    func readOnlyFileSystem() throws {
        let box = Sandbox()
        guard let fs = SmallTmpfs(in: box, size: "1m") else { Issue.record("tmpfs mount failed"); return }
        defer { fs.unmount() }
        let keystore = fs.mountPoint + "/keystore.json"
        _ = Self.seeded(box, at: keystore)
        let key = runKeyctl(["--keystore", keystore, "create", "live"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let before = FileManager.default.contents(atPath: keystore)
        #expect(fs.remountReadOnly())
        for command in [["create", "x"], ["rotate", "k0"], ["revoke", "k1"], ["init"]] {
            let r = runKeyctl(["--keystore", keystore, "--json"] + command)
            // init may report KEYSTORE_EXISTS or fail to open the lock file first; both are right.
            #expect(r.status == 74 || (command == ["init"] && r.status == 5), "\(command): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        #expect(FileManager.default.contents(atPath: keystore) == before)
        #expect(runKeyctl(["--keystore", keystore, "list"]).status == 0)
        // A read-only keystore does not turn a valid answer into a failure.
        let v = runKeyctl(["--keystore", keystore, "verify"], stdin: key + "\n")
        #expect(v.status == 0, "\(v.stderr)")
    }
}
