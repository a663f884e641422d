// `verify --batch`: one JSON answer line per input line, written as soon as the line
// is answered, so a server can keep one keyctl as a helper (Apache's RewriteMap prg:).
//
// - Each line is answered against the keystore as it is when the line is read: after
//   every read(2) of input, before the first line it brought is answered, one stat(2)
//   of the keystore is compared with the version in memory, and a
//   changed file (keyctl replaces it by rename) is read again in full, with every check
//   `load` makes. A revoke is therefore seen from the next line on. Stamps go to the
//   usage file (VerifyCommand.stamp), never the keystore, so they cause no re-read.
// - A line costs its own work only: the keystore's identity is checked once per
//   read(2) of input, a valid answer's JSON is kept per key until the keystore is
//   read again, and ASCII lines are trimmed without Unicode look-ups. Each answer is
//   still judged afresh (status at that moment, --require); VerifyBatchFastPathTests
//   holds every answer to the single `verify --json` of the same text.
// - Memory is bounded: input goes through one fixed buffer; a line longer than
//   `maximumInputLine` is skipped to its end without being kept, and answered malformed.
// - A keystore that cannot be read ends the batch with the usual error and exit status;
//   answers already written stand.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

enum VerifyBatch {
    static func run(_ options: VerifyOptions, _ inv: Invocation, required: Permissions, stamping: Bool) throws -> Int32 {
        if options.key != nil || options.fromEnv != nil {
            throw inv.usage("--batch reads keys from standard input, one a line; give no KEY or --from-env")
        }
        let keystore = BatchKeystore(file: try inv.keystoreFile())
        try keystore.refresh()
        var lines = LineReader(read: inv.context.readInput)
        var stamped: [String: Timestamp] = [:]
        var number = 0
        var checkedAtRead = lines.reads
        var out: [UInt8] = []
        out.reserveCapacity(512)
        while let line = try lines.next() {
            number += 1
            let now = inv.context.now()
            // Lines that came in one read(2) were read at the same moment: one check serves them.
            if lines.reads != checkedAtRead {
                checkedAtRead = lines.reads
                try keystore.refresh()
            }
            let text: String
            switch line {
            case .tooLong: text = "\u{FFFD}"  // malformed, whatever it held
            case .text(let bytes): text = trimmed(bytes)
            }
            let answer = try VerifyCommand.judge(text, required: required, now: now, inv: inv) { digest in
                (keystore.prefix, digest.flatMap { keystore.records[$0] })
            }
            if stamping, answer.code == nil, var record = answer.record {
                // Throttle here too: the record in memory is only as new as the last reload.
                if let last = stamped[record.digest], last > record.lastUsedAt ?? Int64.min { record.lastUsedAt = last }
                if record.lastUsedAt.map({ now - $0 >= VerifyCommand.stampInterval || now < $0 }) ?? true {
                    stamped[record.digest] = now
                    VerifyCommand.stamp(record, in: keystore.file, now: now)
                }
            }
            if answer.code == nil, let record = answer.record {
                // A valid answer is the same for every line with that key until the keystore changes.
                let body = keystore.validAnswer(record.digest) { Array(VerifyCommand.json(answer).dropFirst()) }
                out.removeAll(keepingCapacity: true)
                out.append(contentsOf: "{\"line\":\(number),".utf8)
                out.append(contentsOf: body)
                try inv.output(out)
            } else {
                try inv.output(VerifyCommand.json(answer, line: number))
            }
        }
        return 0
    }

    /// The line as text with surrounding whitespace trimmed: String.trimmingSpaces(),
    /// without its Unicode look-ups when both ends are ASCII that is not whitespace
    /// (the only bytes where the two could differ lead to the general path).
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        var start = bytes.startIndex
        var end = bytes.endIndex
        func isASCIISpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) }
        while start < end, isASCIISpace(bytes[start]) { start += 1 }
        while end > start, isASCIISpace(bytes[end - 1]) { end -= 1 }
        guard start < end, bytes[start] < 0x80, bytes[end - 1] < 0x80 else {
            return String(decoding: bytes, as: UTF8.self).trimmingSpaces()
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// The keystore as `--batch` last read it, by digest.
final class BatchKeystore {
    let file: KeystoreFile
    private(set) var prefix = ""
    private(set) var records: [String: KeyRecord] = [:]
    private var identity: KeystoreIndex.Identity?
    /// The valid answer of each key answered since the last read, after `{"line":N,`.
    private var validAnswers: [String: [UInt8]] = [:]

    /// The valid answer for this digest, made by `make` the first time.
    func validAnswer(_ digest: String, _ make: () -> [UInt8]) -> [UInt8] {
        if let known = validAnswers[digest] { return known }
        let made = make()
        if validAnswers.count < 4096 { validAnswers[digest] = made }
        return made
    }

    init(file: KeystoreFile) { self.file = file }

    /// Reads the keystore again if the file at its path is not the version in memory.
    func refresh() throws {
        var st = stat()
        let now: KeystoreIndex.Identity? = stat(file.path, &st) == 0 ? KeystoreIndex.Identity(st) : nil
        if let now, let identity, now == identity { return }
        // Stat first, then read: a change in between is seen as a change at the next line.
        let keystore = try file.load()
        prefix = keystore.prefix
        records = Dictionary(keystore.keys.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        validAnswers = [:]
        identity = now
    }
}

/// Lines of standard input through one fixed buffer.
struct LineReader {
    enum Line {
        case text(ArraySlice<UInt8>)
        /// Longer than maximumInputLine; its bytes were skipped, not kept.
        case tooLong
    }

    let read: (UnsafeMutableRawBufferPointer) -> Int
    let limit: Int
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEnd = false
    private var skipping = false
    /// How many times input was read: a new value means lines from a new read.
    private(set) var reads = 0

    init(read: @escaping (UnsafeMutableRawBufferPointer) -> Int, limit: Int = maximumInputLine, capacity: Int = 1 << 16) {
        self.read = read
        self.limit = limit
        buffer = [UInt8](repeating: 0, count: max(capacity, limit + 2))
    }

    /// The next line without its ending (LF, or CRLF), nil at the end of input.
    mutating func next() throws -> Line? {
        while true {
            if let newline = buffer[start..<end].firstIndex(of: 0x0a) {
                var line = buffer[start..<newline]
                start = newline + 1
                if skipping {
                    skipping = false
                    return .tooLong
                }
                if line.last == 0x0d { line = line.dropLast() }
                return line.count > limit ? .tooLong : .text(line)
            }
            if skipping || end - start > limit + 1 {
                // No line end in sight and already too long: drop what is buffered.
                skipping = true
                start = 0
                end = 0
            }
            if atEnd {
                if skipping {
                    skipping = false
                    return .tooLong
                }
                guard end > start else { return nil }
                let line = buffer[start..<end]
                start = end
                return line.count > limit ? .tooLong : .text(line)
            }
            if start > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    _ = memmove(raw.baseAddress!, raw.baseAddress! + start, end - start)
                }
                end -= start
                start = 0
            }
            reads += 1
            let n = buffer.withUnsafeMutableBytes { raw in read(UnsafeMutableRawBufferPointer(rebasing: raw[end...])) }
            if n < 0 { throw KeyCtlError(.ioError, "could not read standard input") }
            if n == 0 { atEnd = true }
            end += n
        }
    }
}
