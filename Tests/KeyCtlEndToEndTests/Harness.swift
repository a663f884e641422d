// Runs the built keyctl binary as a user or a script would. Pipes are drained
// before waiting, so a chatty child cannot deadlock on a full pipe.

import Foundation

struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutBytes: Data
}

enum Binary {
    /// The keyctl built beside this test bundle (.build/<config>/keyctl), or $KEYCTL_BIN.
    static let path: String = {
        if let explicit = ProcessInfo.processInfo.environment["KEYCTL_BIN"], !explicit.isEmpty { return explicit }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("keyctl").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        // swift test puts the bundle in .build/<triple>/debug; the binary sits beside it.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/keyctl").path
    }()
}

/// A private directory with a keystore path in it, removed at deinit.
final class Sandbox {
    let directory: URL
    var keystore: String { directory.appendingPathComponent("keystore.json").path }

    init() {
        let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("keyctl-e2e-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        directory = base
    }

    deinit {
        // Restore write permission on anything a test made read-only, then remove it all.
        if let items = FileManager.default.enumerator(atPath: directory.path) {
            for case let item as String in items {
                try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.appendingPathComponent(item).path)
            }
        }
        try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs keyctl with `--keystore` pointing into the sandbox (unless `useKeystore` is false).
    @discardableResult
    func keyctl(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], useKeystore: Bool = true) -> Run {
        let args = useKeystore ? ["--keystore", keystore] + arguments : arguments
        return runKeyctl(args, stdin: stdin, environment: environment)
    }

    func keystoreBytes() -> Data? { FileManager.default.contents(atPath: keystore) }
}

/// Set once, before the first child is given input.
let pipeWritesFailInsteadOfSignalling: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

/// Spawns the binary. The environment is the test process's, minus KEYCTL_* and XDG_DATA_HOME, plus `environment`.
func runKeyctl(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Binary.path)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEYCTL_") && $0.key != "XDG_DATA_HOME" }
    for (k, v) in environment { env[k] = v }
    process.environment = env
    return runProcess(process, stdin: stdin)
}

/// Runs a configured process with piped stdin, stdout and stderr, draining both
/// outputs concurrently before waiting.
func runProcess(_ process: Process, stdin: String? = nil) -> Run {
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    do {
        try process.run()
    } catch {
        return Run(status: -1, stdout: "", stderr: "could not start \(process.executableURL?.path ?? "?"): \(error)", stdoutBytes: Data())
    }
    // A child may exit before reading all of its input (a refused verify, an
    // over-long line): that must fail the test's expectations, not kill the
    // test process with SIGPIPE.
    _ = pipeWritesFailInsteadOfSignalling
    if let stdin { try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    // Drain both pipes concurrently before waiting.
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let errData = errBox.data
    process.waitUntilExit()
    return Run(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self), stdoutBytes: outData)
}

func parseJSON(_ text: String) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}
