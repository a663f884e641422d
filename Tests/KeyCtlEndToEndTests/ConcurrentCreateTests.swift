// The rules under load: many keyctl processes at once against one keystore lose no update
// and break no rule. A keystore holding 1 key (limit 10) and 24 simultaneous
// creates: exactly 9 win, the rest are refused with KEY_LIMIT_REACHED.

import Foundation
import Testing

@Suite struct ConcurrentCreateTests {
    @Test func twentyFourCreatesAgainstNineFreeSlots() throws {
        let s = Sandbox()
        let seed = s.keyctl(["create", "seed"])
        try #require(seed.status == 0, "\(seed.stderr)")
        let seedKey = String(seed.stdout.dropLast())

        let count = 24
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEYCTL_") && $0.key != "XDG_DATA_HOME" }
        environment["KEYCTL_LOCK_TIMEOUT"] = "60"
        // Start every process before reading any output, so they really run at once.
        var running: [(Process, Pipe, Pipe)] = []
        for i in 0..<count {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Binary.path)
            p.arguments = ["--keystore", s.keystore, "--json", "create", "racer-\(i)"]
            p.environment = environment
            let out = Pipe()
            let err = Pipe()
            p.standardOutput = out
            p.standardError = err
            p.standardInput = FileHandle.nullDevice
            try p.run()
            running.append((p, out, err))
        }
        var keys: [String] = []
        var refused = 0
        for (p, out, err) in running {
            // A record or an error is far below a pipe's capacity: reading one pipe at a time cannot block a child.
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            if p.terminationStatus == 0 {
                #expect(stderr.isEmpty)
                let record = parseJSON(stdout) as? [String: Any]
                if let key = record?["key"] as? String { keys.append(key) } else { Issue.record("no key in \(stdout)") }
            } else {
                #expect(p.terminationStatus == 5, "\(stderr)")
                #expect(stdout.isEmpty)
                let error = (parseJSON(stderr) as? [String: Any])?["error"] as? [String: Any]
                #expect(error?["code"] as? String == "KEY_LIMIT_REACHED", "\(stderr)")
                refused += 1
            }
        }
        #expect(keys.count == 9)
        #expect(refused == count - 9)
        #expect(Set(keys).count == keys.count)

        let list = s.keyctl(["list", "--json", "--all"])
        let records = try #require(parseJSON(list.stdout) as? [[String: Any]])
        #expect(records.count == 10)
        #expect(records.allSatisfy { $0["status"] as? String == "active" })
        #expect(Set(records.compactMap { $0["name"] as? String }).count == 10)
        for key in keys + [seedKey] {
            let v = s.keyctl(["verify"], stdin: key + "\n")
            #expect(v.status == 0, "\(v.stderr)")
        }
        // The lock file stays; no temporary file is left behind.
        let files = try FileManager.default.contentsOfDirectory(atPath: s.directory.path)
        #expect(!files.contains { $0.contains(".tmp-") }, "\(files)")
    }
}
