// verify --batch (keyctl(1) COMMANDS): one JSON line per input line, in order, each against the
// keystore as it is when the line is read; bounded memory on hostile input.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct VerifyBatchTests {
    func answers(_ stdout: String) -> [[String: Any]] {
        stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { jsonObject($0) ?? [:] }
    }

    @Test func oneNumberedAnswerPerLineWhateverTheLine() throws {
        let w = VerifyWorld()
        let key = try w.create("a").key
        let writer = try w.create("w", ["--permissions", "write"]).key
        var input: [UInt8] = []
        let lines: [[UInt8]] = [
            Array(key.utf8), [], Array("Bearer \(key)\r".utf8), Array(writer.utf8), [0, 0, 0], [0xff, 0xfe, 0x80],
            [UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20), Array("   ".utf8), Array("Basic !!!!".utf8),
            Array("x-api-key: \(key)".utf8),
        ]
        for line in lines { input += line + [0x0a] }
        input += Array(key.utf8)  // a last line without its newline is still a line
        let r = w.run(["verify", "--batch", "--require", "read"], chunks: [input])
        #expect(r.status == 0, "\(r.stderr)")
        let got = answers(r.stdout)
        #expect(got.count == lines.count + 1, "\(r.stdout)")
        #expect(got.map { $0["line"] as? Int } == Array(1...(lines.count + 1)))
        let codes = got.map { $0["code"] as? String ?? "valid" }
        #expect(
            codes == [
                "valid", "MISSING_API_KEY", "valid", "FORBIDDEN", "INVALID_API_KEY", "INVALID_API_KEY", "INVALID_API_KEY",
                "MISSING_API_KEY", "INVALID_API_KEY", "valid", "valid",
            ])
        #expect(!r.stdout.contains(key))
    }

    @Test func aChangeToTheKeystoreCountsFromTheNextLine() throws {
        let w = VerifyWorld()
        let a = try w.create("a")
        _ = try w.create("b")
        let line = Array((a.key + "\n").utf8)
        let r = w.run(
            ["verify", "--batch", "--no-stamp"], chunks: [line, line, line],
            between: { step in
                if step == 1 { #expect(w.run(["revoke", a.id]).status == 0) }
            })
        let got = answers(r.stdout)
        #expect(got.map { $0["code"] as? String ?? "valid" } == ["valid", "REVOKED_API_KEY", "REVOKED_API_KEY"], "\(r.stdout)")
    }

    @Test func aKeyMadeDuringTheBatchIsKnownOnTheNextLine() throws {
        let w = VerifyWorld()
        _ = try w.create("a")
        // The batch reads its input lazily: the key is made when the batch asks for a line.
        var made = ""
        var served = false
        var context = Context(
            environment: { ["KEYCTL_KEYSTORE": w.keystore, "HOME": w.directory][$0] }, now: { w.now },
            randomBytes: { Array(repeating: 1, count: $0) }, readLine: { nil },
            writeStdout: {
                made += String(decoding: $0, as: UTF8.self); return true
            }, writeStderr: { _ in true })
        var answersSoFar = ""
        context.readInput = { buffer in
            guard !served else { return 0 }
            served = true
            answersSoFar = made
            let key = (try? w.create("new").key) ?? "none"
            let bytes = Array((key + "\n").utf8)
            buffer.copyBytes(from: bytes)
            return bytes.count
        }
        #expect(KeyCtl.run(["verify", "--batch", "--no-stamp"], context: context) == 0)
        #expect(answersSoFar == "")
        #expect(answers(made).first?["valid"] as? Bool == true, "\(made)")
    }

    @Test func anEndlessLineIsAnsweredWithoutBeingKept() throws {
        let w = VerifyWorld()
        let key = try w.create("a").key
        // 8 MiB with no newline, served 64 KiB at a time, then a key.
        var remaining = 8 << 20
        var tail = Array(("\n" + key + "\n").utf8)[...]
        var out: [UInt8] = []
        var context = Context(
            environment: { ["KEYCTL_KEYSTORE": w.keystore][$0] }, now: { w.now }, randomBytes: { Array(repeating: 1, count: $0) },
            readLine: { nil },
            writeStdout: {
                out += $0; return true
            }, writeStderr: { _ in true })
        context.readInput = { buffer in
            if remaining > 0 {
                let n = min(remaining, buffer.count)
                memset(buffer.baseAddress!, 0x78, n)
                remaining -= n
                return n
            }
            let n = min(tail.count, buffer.count)
            buffer.copyBytes(from: tail.prefix(n))
            tail = tail.dropFirst(n)
            return n
        }
        #expect(KeyCtl.run(["verify", "--batch", "--no-stamp"], context: context) == 0)
        let got = answers(String(decoding: out, as: UTF8.self))
        #expect(got.map { $0["code"] as? String ?? "valid" } == ["INVALID_API_KEY", "valid"])
    }

    @Test func theLineReaderKeepsAtMostItsBuffer() throws {
        var input = Array(repeating: UInt8(ascii: "y"), count: 10_000) + [0x0a] + Array("short\r\n".utf8) + Array(repeating: 0x7a, count: 5000)
        var reads: [Int] = []
        var reader = LineReader(
            read: { buffer in
                reads.append(buffer.count)
                let n = min(input.count, buffer.count, 700)
                buffer.copyBytes(from: input.prefix(n))
                input.removeFirst(n)
                return n
            }, limit: 100, capacity: 256)
        var lines: [String] = []
        while let line = try reader.next() {
            switch line {
            case .tooLong: lines.append("<long>")
            case .text(let bytes): lines.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        #expect(lines == ["<long>", "short", "<long>"])
        #expect(reads.allSatisfy { $0 <= 256 })
    }

    @Test func batchTakesNoKeyArgument() {
        let w = VerifyWorld()
        #expect(w.run(["verify", "--batch", "ak_live_x"]).status == 64)
        #expect(w.run(["verify", "--batch", "--from-env", "K"]).status == 64)
    }

    @Test func anUnreadableKeystoreEndsTheBatchWithItsError() throws {
        let w = VerifyWorld()
        let key = try w.create("a").key
        let line = Array((key + "\n").utf8)
        let r = w.run(
            ["verify", "--batch"], chunks: [line, line],
            between: { _ in
                #expect(FileManager.default.createFile(atPath: w.keystore + ".new", contents: Data("{".utf8), attributes: [.posixPermissions: 0o600]))
                #expect(rename(w.keystore + ".new", w.keystore) == 0)
            })
        #expect(r.status == 65, "\(r.stderr)")
        #expect(answers(r.stdout).count == 1)
        #expect(r.stderr.contains("corrupt"), "\(r.stderr)")
    }
}
