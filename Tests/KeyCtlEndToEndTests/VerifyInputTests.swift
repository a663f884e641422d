// What verify reads from standard input: the first line, trimmed, at most 4 KiB, so
// a hostile or mistaken stdin (a device that never ends a line) gets a prompt answer.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct VerifyInputTests {
    @Test func aStdinWithoutEndIsRefusedPromptly() throws {
        let box = Sandbox()
        try #require(box.keyctl(["create", "a"]).status == 0)
        let started = Date()
        // timeout(1) turns a hang into exit 124, so a regression fails instead of stalling CI.
        let r = sh("exec timeout 10 \(shq(Binary.path)) --keystore \(shq(box.keystore)) verify < /dev/zero")
        #expect(r.status == 1, "\(r.output)")
        #expect(r.output.contains("malformed"), "\(r.output)")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func onlyTheFirstLineIsReadAndItsEndingIsDropped() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let text = "  ak_live_key  \r\nsecond line\n"
        _ = text.withCString { write(fds[1], $0, strlen($0)) }
        close(fds[1])
        #expect(readFirstLine(fds[0]) == "  ak_live_key  ")
        // Nothing past the first line was consumed.
        #expect(readFirstLine(fds[0]) == "second line")
        #expect(readFirstLine(fds[0]) == nil)
    }

    @Test func aLineLongerThanTheLimitIsCut() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: maximumInputLine + 100)
        _ = long.withUnsafeBytes { write(fds[1], $0.baseAddress!, $0.count) }
        close(fds[1])
        #expect(readFirstLine(fds[0])?.utf8.count == maximumInputLine)
    }

    /// Every line `readFirstLine` gives, one call after another, from a pipe or a file.
    func lines(_ bytes: [UInt8], fromFile: Bool) throws -> [String] {
        var fd: Int32
        if fromFile {
            let path = NSTemporaryDirectory() + "keyctl-input-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(fd >= 0)
            unlink(path)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            lseek(fd, 0, SEEK_SET)
        } else {
            var fds: [Int32] = [0, 0]
            try #require(pipe(&fds) == 0)
            _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
            close(fds[1])
            fd = fds[0]
        }
        defer { close(fd) }
        var out: [String] = []
        while let line = readFirstLine(fd) { out.append(line) }
        return out
    }

    @Test func aFileIsReadAsAPipeIs() throws {
        // From a file keyctl reads a block and puts the offset back; the lines must be the pipe's.
        let x = { (n: Int) in String(repeating: "x", count: n) }
        for text in [
            "  ak_live_key  \r\nsecond line\n", "", "no newline", "a\r", "\n\n", "\r\n", x(maximumInputLine) + "\nnext\n",
            x(maximumInputLine - 1) + "\r\nnext", x(maximumInputLine + 1) + "\nnext", x(3 * maximumInputLine + 7),
        ] {
            let bytes = Array(text.utf8)
            #expect(try lines(bytes, fromFile: true) == lines(bytes, fromFile: false), "\(text.prefix(40).debugDescription)")
        }
    }
}
