// Everything a command needs from the world comes in through Context: the clock,
// the random source, the environment, standard input and the two output streams.
// The process gets `Context.process()`; tests build one with fixed values.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

public struct Context {
    public var environment: (String) -> String?
    public var now: () -> Timestamp
    public var randomBytes: (Int) -> [UInt8]
    /// The first line of standard input, without its line ending; nil at end of input.
    public var readLine: () -> String?
    /// Each returns false when the bytes could not be written.
    public var writeStdout: ([UInt8]) -> Bool
    public var writeStderr: ([UInt8]) -> Bool
    public var stdoutIsTerminal: Bool
    /// Test hook for the keystore's write path.
    var faultInjection: ((String) throws -> Void)?

    public init(
        environment: @escaping (String) -> String?,
        now: @escaping () -> Timestamp,
        randomBytes: @escaping (Int) -> [UInt8],
        readLine: @escaping () -> String?,
        writeStdout: @escaping ([UInt8]) -> Bool,
        writeStderr: @escaping ([UInt8]) -> Bool,
        stdoutIsTerminal: Bool = false
    ) {
        self.environment = environment
        self.now = now
        self.randomBytes = randomBytes
        self.readLine = readLine
        self.writeStdout = writeStdout
        self.writeStderr = writeStderr
        self.stdoutIsTerminal = stdoutIsTerminal
    }

    /// The real process: getenv, the system clock, getrandom(2), fd 0, 1 and 2.
    public static func process() -> Context {
        Context(
            environment: { name in getenv(name).map { String(cString: $0) } },
            now: { Timestamp(time(nil)) },
            randomBytes: systemRandomBytes,
            readLine: { readFirstLine(0) },
            writeStdout: { writeFully(1, $0) },
            writeStderr: { writeFully(2, $0) },
            stdoutIsTerminal: isatty(1) == 1
        )
    }

    func out(_ text: String) -> Bool { writeStdout(Array(text.utf8)) }
    func err(_ text: String) { _ = writeStderr(Array(text.utf8)) }

    /// A notice for a person, on stderr.
    func notice(_ text: String) { err("keyctl: \(text)\n") }

    /// Whether to colour output: stdout is a terminal, NO_COLOR is unset, TERM is not dumb.
    var useColor: Bool {
        stdoutIsTerminal && environment("NO_COLOR").map({ $0.isEmpty }) ?? true && environment("TERM") != "dumb"
    }
}

/// The longest first line `verify` reads from standard input: a key is at most about
/// 220 characters, and `keyctl verify < /dev/zero` must end, not eat memory.
public let maximumInputLine = 4096

/// The first line of `fd` (without its line ending), at most `maximumInputLine` bytes;
/// nil if there is nothing to read. Reads one byte at a time so nothing after the
/// line is consumed from a shared pipe.
public func readFirstLine(_ fd: Int32, limit: Int = maximumInputLine) -> String? {
    var line: [UInt8] = []
    var byte: UInt8 = 0
    var sawAnything = false
    while line.count < limit {
        let n = read(fd, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        guard n == 1 else { break }
        sawAnything = true
        if byte == 0x0a { break }
        line.append(byte)
    }
    guard sawAnything else { return nil }
    if line.last == 0x0d { line.removeLast() }
    return String(decoding: line, as: UTF8.self)
}

func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        written += n
    }
    return true
}

/// `count` bytes from the system CSPRNG (getrandom(2) through the standard
/// library), eight per call rather than one.
public func systemRandomBytes(_ count: Int) -> [UInt8] {
    var rng = SystemRandomNumberGenerator()
    var out: [UInt8] = []
    out.reserveCapacity(count + 8)
    while out.count < count {
        withUnsafeBytes(of: rng.next()) { out.append(contentsOf: $0) }
    }
    out.removeLast(out.count - count)
    return out
}
