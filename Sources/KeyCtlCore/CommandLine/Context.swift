// Everything a command needs from the world comes in through Context: the clock,
// the random source, the environment, standard input, the two output streams, and
// (`system`) the user id, the clocks the keystore layer uses and the file system's answers.
// The process gets `Context.process()`; tests build one with fixed values.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

public struct Context {
    public var environment: (String) -> String?
    public var now: () -> Timestamp
    public var randomBytes: (Int) -> [UInt8]
    /// The first line of standard input, without its line ending; nil at end of input.
    public var readLine: () -> String?
    /// Reads standard input into the buffer (`verify --batch`): the count, 0 at its end,
    /// -1 on an error. Tests that do not set it have an empty standard input.
    public var readInput: (UnsafeMutableRawBufferPointer) -> Int = { _ in 0 }
    /// Each returns false when the bytes could not be written.
    public var writeStdout: ([UInt8]) -> Bool
    public var writeStderr: ([UInt8]) -> Bool
    public var stdoutIsTerminal: Bool
    /// The user id, the clocks, waiting and the file system's answers (SystemSeam.swift).
    public var system = SystemSeam()
    /// Test hook for the keystore's write path (part of `system`).
    var faultInjection: ((String) throws -> Void)? {
        get { system.faultInjection }
        set { system.faultInjection = newValue }
    }

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
    ///
    /// Call it before anything opens a file. A standard stream that was closed when
    /// keyctl started gets /dev/null in its place, so the next open(2) (the lock, the
    /// keystore) cannot take fd 0, 1 or 2 and receive what was meant for the stream;
    /// and a closed stdout or stderr is remembered as closed, so writing to it fails
    /// (a key that cannot be delivered is never kept).
    public static func process() -> Context {
        let closed = StandardStreams.reopenClosed()
        var context = Context(
            environment: { name in getenv(name).map { String(cString: $0) } },
            now: { Timestamp(time(nil)) },
            randomBytes: systemRandomBytes,
            readLine: { closed.stdin ? nil : readFirstLine(0) },
            writeStdout: { closed.stdout ? false : writeFully(1, $0) },
            writeStderr: { closed.stderr ? false : writeFully(2, $0) },
            stdoutIsTerminal: !closed.stdout && isatty(1) == 1
        )
        context.readInput = { closed.stdin ? 0 : readStandardInput($0) }
        return context
    }

    static func readStandardInput(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let n = read(0, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }

    func out(_ text: String) -> Bool { writeStdout(Array(text.utf8)) }
    func err(_ text: String) { _ = writeStderr(Array(text.utf8)) }

    /// A notice for a person, on stderr: one line, with outside text made safe to show.
    func notice(_ text: String) { err("keyctl: \(Redaction.shown(text))\n") }

    /// Whether to colour output: stdout is a terminal, NO_COLOR is unset, TERM is not dumb.
    var useColor: Bool {
        stdoutIsTerminal && environment("NO_COLOR").map({ $0.isEmpty }) ?? true && environment("TERM") != "dumb"
    }
}

/// Which of the standard streams were closed when keyctl started.
struct StandardStreams: Equatable {
    var stdin = false
    var stdout = false
    var stderr = false

    /// Opens /dev/null onto every one of fd 0, 1 and 2 that is closed, lowest first
    /// (open(2) returns the lowest free descriptor), and says which were closed.
    static func reopenClosed() -> StandardStreams {
        var closed = StandardStreams()
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            switch fd {
            case 0: closed.stdin = true
            case 1: closed.stdout = true
            default: closed.stderr = true
            }
            // Without /dev/null (a bare chroot), the root directory: any open file will do.
            var null = open("/dev/null", O_RDWR)
            if null < 0 { null = open("/", O_RDONLY | O_DIRECTORY) }
            if null >= 0 && null != fd {
                // Not the lowest free descriptor after all: put it where it belongs.
                _ = dup2(null, fd)
                _ = close(null)
            }
        }
        return closed
    }
}

/// The longest first line `verify` reads from standard input: a key is at most about
/// 220 characters, and `keyctl verify < /dev/zero` must end, not eat memory.
public let maximumInputLine = 4096

/// The first line of `fd` (without its line ending), at most `maximumInputLine` bytes;
/// nil if there is nothing to read. Nothing after the line is consumed: from a file,
/// one read and the offset put back just past the line; from a pipe (which may be
/// shared), one byte at a time.
public func readFirstLine(_ fd: Int32, limit: Int = maximumInputLine) -> String? {
    let start = lseek(fd, 0, SEEK_CUR)
    if start >= 0 {
        var block = [UInt8](repeating: 0, count: limit + 1)
        var n = 0
        while n < block.count {
            let got = block.withUnsafeMutableBytes { read(fd, $0.baseAddress! + n, $0.count - n) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            n += got
        }
        guard n > 0 else { return nil }
        // As the byte-at-a-time loop: the newline is consumed, and so is nothing past `limit` bytes.
        let newline = block[0..<min(n, limit)].firstIndex(of: 0x0a)
        let length = newline ?? min(n, limit)
        _ = lseek(fd, start + off_t(newline.map { $0 + 1 } ?? length), SEEK_SET)
        var line = block[0..<length]
        if line.last == 0x0d { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }
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
