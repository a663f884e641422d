// verify --batch as a server uses it: one long-lived process, a line written, its
// answer read back before the next line is written, the keystore changed in between
// by other keyctl processes.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// keyctl verify --batch with pipes on stdin and stdout.
final class BatchCoprocess {
    let pid: pid_t
    let input: Int32
    let output: Int32
    private var pending: [UInt8] = []

    init(_ arguments: [String]) {
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        precondition(pipe(&toChild) == 0 && pipe(&fromChild) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        for fd in toChild + fromChild { posix_spawn_file_actions_addclose(&actions, fd) }
        let env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEYCTL_") }
        let argv = ([Binary.path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        precondition(posix_spawn(&child, Binary.path, &actions, nil, argv, envp) == 0)
        pid = child
        close(toChild[0])
        close(fromChild[1])
        input = toChild[1]
        output = fromChild[0]
    }

    /// Writes one line and returns the answer line, or nil if none came within 10 s.
    func ask(_ line: String) -> String? {
        let bytes = Array((line + "\n").utf8)
        guard bytes.withUnsafeBytes({ write(input, $0.baseAddress, $0.count) }) == bytes.count else { return nil }
        return readLine()
    }

    func readLine(timeout: Double = 10) -> String? {
        let deadline = monotonicNow() + timeout
        while true {
            if let newline = pending.firstIndex(of: 0x0a) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeFirst(newline + 1)
                return line
            }
            let left = deadline - monotonicNow()
            guard left > 0 else { return nil }
            var fds = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            guard poll(&fds, 1, Int32(left * 1000) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(output, &chunk, chunk.count)
            guard n > 0 else { return nil }
            pending += chunk[..<n]
        }
    }

    /// Closes stdin and returns the exit status (killing the child after 10 s).
    func finish() -> Int32 {
        close(input)
        let deadline = monotonicNow() + 10
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if monotonicNow() > deadline { kill(pid, SIGKILL) }
            usleep(1000)
        }
        close(output)
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
    }
}

@Suite struct VerifyBatchCoprocessTests {
    func code(_ line: String?) -> String {
        guard let line, let object = parseJSON(line) as? [String: Any] else { return "no answer: \(line ?? "nil")" }
        return object["code"] as? String ?? (object["valid"] as? Bool == true ? "valid" : "?")
    }

    @Test func aRevokeOrACreateCountsFromTheVeryNextLine() throws {
        let box = Sandbox()
        let a = box.keyctl(["create", "a"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(box.keyctl(["create", "b"]).status == 0)
        let helper = BatchCoprocess(["--keystore", box.keystore, "verify", "--batch", "--require", "read"])
        #expect(code(helper.ask(a)) == "valid")
        #expect(code(helper.ask("Authorization: Bearer \(a)")) == "valid")
        #expect(box.keyctl(["revoke", "a"]).status == 0)
        #expect(code(helper.ask(a)) == "REVOKED_API_KEY")
        let c = box.keyctl(["create", "c"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(code(helper.ask("x-api-key: \(c)")) == "valid")
        #expect(code(helper.ask("")) == "MISSING_API_KEY")
        #expect(code(helper.ask(String(repeating: "k", count: 100_000))) == "INVALID_API_KEY")
        #expect(code(helper.ask(c)) == "valid")
        #expect(helper.finish() == 0)
    }

    @Test func aVanishedKeystoreEndsTheBatch() throws {
        let box = Sandbox()
        let a = box.keyctl(["create", "a"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let helper = BatchCoprocess(["--keystore", box.keystore, "verify", "--batch"])
        #expect(code(helper.ask(a)) == "valid")
        try FileManager.default.removeItem(atPath: box.keystore)
        #expect(helper.ask(a) == nil)
        #expect(helper.finish() == 66)
    }
}
