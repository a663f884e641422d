// What an in-process keyctl run writes: the tests that run KeyCtl.run with a Context
// and read back both streams take it from here instead of each capturing them by hand.

@testable import KeyCtlCore

/// stdout and stderr of in-process runs, as bytes.
final class CapturedOutput {
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// A context whose stdout and stderr land here; every write succeeds.
    func context(
        environment: @escaping (String) -> String?, now: @escaping () -> Timestamp, randomBytes: @escaping (Int) -> [UInt8],
        readLine: @escaping () -> String?
    ) -> Context {
        Context(
            environment: environment, now: now, randomBytes: randomBytes, readLine: readLine,
            writeStdout: { [self] in
                stdout += $0
                return true
            },
            writeStderr: { [self] in
                stderr += $0
                return true
            })
    }
}
