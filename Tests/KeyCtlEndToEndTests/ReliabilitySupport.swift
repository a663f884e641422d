// Helpers for the Reliability* suites: start keyctl (or any program) without waiting,
// with its output going to files, so that dozens can run at once, or one can be
// killed with SIGKILL at a chosen moment; and small file-system utilities.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a child ended.
struct Ending: Equatable, CustomStringConvertible {
    var exitStatus: Int32?
    var signal: Int32?
    var description: String { exitStatus.map { "exit \($0)" } ?? "signal \(signal ?? -1)" }
}

/// A started process whose stdout and stderr go to files.
final class Child {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private(set) var ending: Ending?

    private init(pid: pid_t, stdoutPath: String, stderrPath: String) {
        self.pid = pid
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    /// Starts `executable` with `arguments`; the environment is the test's, minus KEYCTL_*
    /// and XDG_DATA_HOME, plus `environment`. stdin comes from `stdinPath` (else /dev/null).
    static func start(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        stdinPath: String? = nil, outputIn directory: String, tag: String
    ) -> Child {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEYCTL_") && $0.key != "XDG_DATA_HOME" }
        for (k, v) in environment { env[k] = v }
        let out = directory + "/\(tag).out"
        let err = directory + "/\(tag).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        precondition(rc == 0, "posix_spawn \(executable) failed: \(String(cString: strerror(rc)))")
        return Child(pid: pid, stdoutPath: out, stderrPath: err)
    }

    static func keyctl(
        _ arguments: [String], environment: [String: String] = [:], stdinPath: String? = nil,
        outputIn directory: String, tag: String
    ) -> Child {
        start(Binary.path, arguments, environment: environment, stdinPath: stdinPath, outputIn: directory, tag: tag)
    }

    /// Waits for the child to end (it is reaped exactly once).
    @discardableResult
    func wait() -> Ending {
        if let ending { return ending }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            precondition(errno == EINTR, "waitpid failed: \(String(cString: strerror(errno)))")
        }
        let e = (status & 0x7f) == 0 ? Ending(exitStatus: (status >> 8) & 0xff, signal: nil) : Ending(exitStatus: nil, signal: status & 0x7f)
        ending = e
        return e
    }

    /// Waits at most `seconds`; then kills it with SIGKILL. Returns the ending and whether it was killed.
    func wait(atMost seconds: Double) -> (Ending, timedOut: Bool) {
        let deadline = monotonicNow() + seconds
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let e = (status & 0x7f) == 0 ? Ending(exitStatus: (status >> 8) & 0xff, signal: nil) : Ending(exitStatus: nil, signal: status & 0x7f)
                ending = e
                return (e, false)
            }
            if monotonicNow() > deadline {
                kill(pid, SIGKILL)
                return (wait(), true)
            }
            usleep(2000)
        }
    }

    func kill9() { kill(pid, SIGKILL) }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs keyctl and measures how long it took.
func timedKeyctl(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) -> (Run, seconds: Double) {
    let start = monotonicNow()
    let run = runKeyctl(arguments, stdin: stdin, environment: environment)
    return (run, monotonicNow() - start)
}

/// Runs a shell command line; returns its exit status and combined output.
@discardableResult
func sh(_ command: String) -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Shell-quotes one word.
func shq(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

extension Sandbox {
    var path: String { directory.path }

    /// Names in the sandbox directory (not recursive), sorted.
    func entries() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Leftover temporary files of the keystore's write path.
    func temporaries() -> [String] { entries().filter { $0.hasPrefix(".keystore.json.tmp-") } }

    func write(_ bytes: [UInt8], mode: mode_t = 0o600) {
        _ = FileManager.default.createFile(atPath: keystore, contents: Data(bytes))
        chmod(keystore, mode)
    }

    /// Records from `list --json`, or nil if it failed.
    func records() -> [[String: Any]]? {
        let r = keyctl(["list", "--json", "--all"])
        guard r.status == 0 else { return nil }
        return parseJSON(r.stdout) as? [[String: Any]]
    }
}

/// The ids in a `list --json` array.
func ids(_ records: [[String: Any]]) -> Set<String> { Set(records.compactMap { $0["id"] as? String }) }

/// The `error.code` of a `--json` failure on stderr.
func errorCode(_ stderr: String) -> String? {
    guard let object = parseJSON(stderr) as? [String: Any], let error = object["error"] as? [String: Any] else { return nil }
    return error["code"] as? String
}

/// Whether a mount made by the test is possible here (root with CAP_SYS_ADMIN, mount(8) present).
/// CI containers often forbid it; the tests that need it are then skipped, and say why.
let mountsAvailable: Bool = {
    guard geteuid() == 0 else { return false }
    let dir = NSTemporaryDirectory() + "keyctl-mount-probe-\(getpid())"
    mkdir(dir, 0o700)
    defer { rmdir(dir) }
    guard sh("mount -t tmpfs -o size=64k tmpfs \(shq(dir))").status == 0 else { return false }
    return sh("umount \(shq(dir))").status == 0
}()

/// A small tmpfs mounted at `sandbox/name`; unmounted by `unmount()` (call it in a defer).
struct SmallTmpfs {
    let mountPoint: String

    init?(in sandbox: Sandbox, name: String = "mnt", size: String) {
        mountPoint = sandbox.path + "/" + name
        mkdir(mountPoint, 0o700)
        guard sh("mount -t tmpfs -o size=\(size),mode=0700 tmpfs \(shq(mountPoint))").status == 0 else { return nil }
    }

    func remountReadOnly() -> Bool { sh("mount -o remount,ro \(shq(mountPoint))").status == 0 }

    func unmount() {
        if sh("umount \(shq(mountPoint))").status != 0 { sh("umount -l \(shq(mountPoint))") }
    }
}
