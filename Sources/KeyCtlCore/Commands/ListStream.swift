// `list --json`, streamed: the keystore is checked whole first (nothing is printed
// from a file that is not valid keyctl JSON), building no record; then the records
// are printed one at a time, newest first, each merged with the usage file,
// filtered, and written through one buffer that is flushed as it fills.
//
// Two ways through, one answer:
// - Windowed (a file laid out as keyctl writes it, which is every file keyctl wrote):
//   the file is read a window at a time with pread, never mapped whole. The check
//   pass is the one full check there is (KeystoreCheck.walk and merge, the same that
//   `verify` runs on the mapped file), with this window as its source: the fast
//   scanner's check on every record, the general reader on a record in another form,
//   and the checks across records on 64-bit hashes, where any equal hash is a doubt
//   (the bytes are no longer in memory to compare them). The output pass walks the
//   windows backwards and writes each checked record's --json object from byte
//   ranges of its stored bytes (the stored text of a field is its --json text),
//   locating the values without checking them again and computing only what is
//   derived: `status`, a `last_used_at` newer in the usage file, `permissions` in
//   the table's order, a leap second, and the `description` a version 1 record
//   lacks. A record the general reader took is read by it again, built, and
//   printed as every record is.
// - Mapped (anything else: another layout, a record the scanner does not take, two
//   hashes equal, a fault): the whole file through KeystoreCodec's reader, which
//   reports any fault exactly, then KeyRecords built one at a time.
//
// Invariants:
// - The output is byte for byte what the model path printed (`recordsJSON` of
//   `newestFirst(load().keys)` filtered): the same order, the same members, the same
//   merge of last_used_at. ListStreamTests compares both ways with the model.
// - The windowed way accepts only what KeystoreCodec.decode accepts: the header line
//   goes through that reader itself, each record through its fast scanner, and any
//   doubt (a hash seen twice, an unexpected byte) hands the file to the mapped way.
// - Memory of the windowed way: one window, 4 bytes per record (its offset), and for
//   the check 8 bytes per id and per digest (their hashes, and a copy of each split
//   into cache-sized parts); never the file, never a model.
// - What is printed is what was checked, also when the file is edited in place while
//   list runs (keyctl replaces it by rename, but an editor or a script may write into
//   it). The windowed way prints a record only if its bytes hash as they did when
//   checked, and compares the file's size and times with those it had when opened
//   before the first byte goes out; either difference is IO_ERROR "changed while it
//   was read; run the command again". Seen before the first flush (64 KiB of output),
//   nothing is on stdout; seen later (an edit the size and times do not show, in a
//   record printed after that), stdout holds an array without its `]`, never a whole
//   JSON document. The mapped way prints from a private copy of the file.
// - A failed write to stdout (closed, full) is IO_ERROR, as for every command.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

/// Where a record lies in the keystore file, and when it was made (for the order).
struct RecordSpan {
    var offset: UInt32
    var length: UInt32
    var createdAt: Timestamp

    static let createdAtSlot = RecordSchema.stored.firstIndex(of: .createdAt)!
}

/// Which records `list` prints: by status, or due for rotation within a window.
struct ListFilter {
    /// The statuses asked for (bit `rawValue` of ListFilter.bit), 0 for none asked.
    var statuses: UInt8
    var all = false
    var expiringWithin: Int64?
    var now: Timestamp

    init(statuses: [KeyStatus]?, all: Bool, expiringWithin: Int64?, now: Timestamp) {
        self.statuses = statuses?.reduce(0) { $0 | ListFilter.bit($1) } ?? 0
        self.all = all
        self.expiringWithin = expiringWithin
        self.now = now
    }

    @inline(__always) static func bit(_ s: KeyStatus) -> UInt8 {
        switch s {
        case .active: 1
        case .expired: 2
        case .retiring: 4
        case .revoked: 8
        }
    }

    /// The record's status if `list` prints it, else nil. Only its times are read, so
    /// the windowed way passes a record that has nothing else.
    func keeps(_ r: KeyRecord) -> KeyStatus? {
        let status = r.status(at: now)
        if statuses != 0 && statuses & ListFilter.bit(status) == 0 { return nil }
        // After a year of rotations most records are revoked: shown only when asked for.
        if statuses == 0 && !all && status == .revoked { return nil }
        if let window = expiringWithin, !r.isDueForRotation(status: status, within: window, now: now) { return nil }
        return status
    }

    /// A record with only the times the status and the filter read (no allocation).
    @inline(__always) static func times(expiresAt: Timestamp?, revokedAt: Timestamp?) -> KeyRecord {
        KeyRecord(
            id: "", name: "", digest: "", hint: "", environment: .live, permissions: .read, createdAt: 0, expiresAt: expiresAt, revokedAt: revokedAt)
    }
}

enum ListStream {
    /// Output is written in pieces of about this size.
    static let flushSize = 64 << 10
    /// More than any record the fast scanner takes (its text fields are bounded).
    static let longestRecord = KeystoreCheck.longestRecord

    /// Prints `[RECORD,…]\n` of the records `filter` keeps, newest first.
    static func printJSON(_ inv: Invocation, filter: ListFilter) throws {
        let file = try inv.keystoreFile()
        guard let (fd, st) = try file.openForReading() else { throw file.notFound() }
        defer { close(fd) }
        let size = Int(st.st_size)
        if size > 0, size < Int(Checked.generalMark) {
            var window = try Window(fd: fd, size: size, capacity: min(file.system.listWindowSize, size), file: file)
            defer { window.free() }
            if let checked = try checkWindowed(&window) {
                // Between the passes (tests edit the file in place here).
                try file.system.faultInjection?("list checked")
                try printWindowed(inv, checked, &window, filter: filter, opened: st)
                return
            }
        }
        try printMapped(inv, file, fd: fd, size: size, filter: filter)
    }

    // MARK: The windowed way

    /// The bytes of the file from `start`, `count` of them, read with pread.
    struct Window: KeystoreWindow {
        let fd: Int32
        let size: Int
        let file: KeystoreFile
        let capacity: Int
        let buffer: UnsafeMutablePointer<UInt8>
        var start = 0
        var count = 0

        init(fd: Int32, size: Int, capacity: Int, file: KeystoreFile) throws {
            self.fd = fd
            self.size = size
            self.file = file
            self.capacity = max(capacity, 1)
            buffer = .allocate(capacity: self.capacity)
        }

        func free() { buffer.deallocate() }

        var end: Int { start + count }
        var bytes: UnsafePointer<UInt8> { UnsafePointer(buffer) }
        static var holdsWholeFile: Bool { false }

        /// Reads [from, to) (to - from <= capacity) into the buffer.
        mutating func load(_ from: Int, _ to: Int) throws(KeyCtlError) {
            start = from
            count = 0
            while start + count < to {
                let n = pread(fd, buffer + count, to - start - count, off_t(start + count))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw KeyCtlError(.ioError, "cannot read keystore \(file.path): \(errorText(errno))")
                }
                guard n > 0 else {
                    throw KeyCtlError(.ioError, "keystore \(file.path) changed while it was read; run the command again")
                }
                count += n
            }
        }

        /// Makes at least `need` bytes from `from` (fewer at the end of the file) available.
        mutating func ensure(_ from: Int, _ need: Int) throws(KeyCtlError) {
            guard from < start || from + min(need, size - from) > end else { return }
            try load(from, min(size, from + capacity))
        }
    }

    /// A keystore that passed the windowed check.
    struct Checked {
        var version: Int
        /// Where each record starts in the file, in file order; the top bit marks a
        /// record the general reader took (the file is at most 1 GiB).
        var offsets: [UInt32]
        /// Where the last record ends (the file goes on with "\n]}\n").
        var recordsEnd: Int
        /// created_at never decreases in file order: newest first is backwards.
        var ordered: Bool
        /// Per record, a hash of its bytes as checked (ByteHash.wide): the output pass
        /// prints a record only if its bytes are still these.
        var hashes: [UInt64] = []

        static let generalMark = KeystoreCheck.Chunk.generalMark

        func start(of i: Int) -> Int { Int(offsets[i] & ~Checked.generalMark) }
        func end(of i: Int) -> Int { i + 1 < offsets.count ? start(of: i + 1) - 2 : recordsEnd }
        func isGeneral(_ i: Int) -> Bool { offsets[i] & Checked.generalMark != 0 }
    }

    /// Checks the whole file as KeystoreCodec.decode does, a window at a time, through
    /// the one check there is (KeystoreCheck.walk and merge). Nil when the file is not
    /// in keyctl's layout or anything is in doubt: the mapped way then reads it (and
    /// reports any fault exactly).
    static func checkWindowed(_ window: inout Window) throws(KeyCtlError) -> Checked? {
        let size = window.size
        try window.load(0, min(size, window.capacity))
        // The header line, `{"version":2,…,"keys":[`, through the reader itself.
        guard let newline = memchr(window.buffer, 0x0A, window.count) else { return nil }
        let headerLength = UnsafeRawPointer(newline) - UnsafeRawPointer(window.buffer)
        let keysOpen: StaticString = "\"keys\":["
        let n = keysOpen.utf8CodeUnitCount
        guard headerLength >= n, memcmp(window.buffer + headerLength - n, keysOpen.utf8Start, n) == 0 else { return nil }
        var header = Array(UnsafeBufferPointer(start: window.buffer, count: headerLength))
        header += Array("]}".utf8)
        guard let settings = try? KeystoreCodec.decode(header, canonicalFastPath: true) else { return nil }
        let version = settings.version
        let first = headerLength + 1
        if size - first == 3 {
            try window.ensure(first, 3)
            guard memcmp(window.buffer + (first - window.start), "]}\n", 3) == 0 else { return nil }
            return Checked(version: version, offsets: [], recordsEnd: first - 1, ordered: true)
        }
        // A record in another layout goes through the general reader, in this format.
        var general = KeystoreCodec.Decoder(reader: JSONReader(UnsafeBufferPointer(start: nil, count: 0)), onlyDigest: nil)
        general.layoutVersion = version
        general.canonicalFastPath = false
        let layout = CanonicalLayout.steps(version: version)
        let chunk = try layout.withUnsafeBufferPointer { layout throws(KeyCtlError) in
            try KeystoreCheck.walk(&window, general, layout, from: first, limit: size, last: true, KeystoreCheck.Collect(offsets: true))
        }
        guard chunk.ok else { return nil }
        // The array's `\n]` and then `}\n`, the end of the file.
        try window.ensure(chunk.end, 4)
        guard chunk.end + 4 == size, window.end == size, memcmp(window.buffer + (chunk.end - window.start), "\n]}\n", 4) == 0 else { return nil }
        // Unique ids and digests, names in use: an equal hash is a doubt.
        guard KeystoreCheck.merge([chunk], splits: [first], window) != nil else { return nil }
        return Checked(version: version, offsets: chunk.offsets, recordsEnd: chunk.end, ordered: chunk.ordered, hashes: chunk.hashes)
    }

    /// The record at `from` in `base[..<to]` through the general reader, and where it
    /// ends; nil if it is not a valid record there.
    static func generalRecord(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> (KeyRecord, end: Int)? {
        var decoder = KeystoreCodec.Decoder(reader: JSONReader(UnsafeBufferPointer(start: base + from, count: to - from)), onlyDigest: nil)
        decoder.canonicalFastPath = false
        guard (try? decoder.record()) != nil else { return nil }
        return (decoder.build(), from + decoder.reader.position)
    }

    /// The order of output: newest first, by created_at, and among equal times the
    /// later in the file first (ListCommand.newestFirst's order).
    static func newestFirstOrder(_ checked: Checked, _ window: inout Window) throws -> [Int32]? {
        if checked.ordered { return nil }
        var created = [Int64](repeating: 0, count: checked.offsets.count)
        var values = [KeystoreCodec.Decoder.FieldValue](repeating: .absent, count: RecordSchema.stored.count)
        try values.withUnsafeMutableBufferPointer { values in
            try RecordSchema.steps.withUnsafeBufferPointer { steps in
                for i in checked.offsets.indices {
                    let from = checked.start(of: i), to = checked.end(of: i)
                    try window.ensure(from, to - from)
                    var scanner = CanonicalScanner(base: window.buffer, end: to - window.start, p: from - window.start)
                    if scanner.record(into: values, steps: steps, version: checked.version), case .time(let t) = values[RecordSpan.createdAtSlot] {
                        created[i] = t
                    } else if let (record, _) = generalRecord(window.buffer, from: from - window.start, to: to - window.start) {
                        created[i] = record.createdAt
                    } else {
                        throw changed(window.file)
                    }
                }
            }
        }
        var order = [Int32](0..<Int32(created.count))
        order.sort { a, b in
            let ta = created[Int(a)], tb = created[Int(b)]
            return ta != tb ? ta > tb : a > b
        }
        return order
    }

    static func changed(_ file: KeystoreFile) -> KeyCtlError {
        KeyCtlError(.ioError, "keystore \(file.path) changed while it was read; run the command again")
    }

    /// The output pass. A file that fits in the window is printed from the bytes that
    /// were checked, still in the window. A larger one is read again, and it may have
    /// been edited in place since it was checked (keyctl itself replaces it by rename,
    /// but an editor or a script may write into it): a record is printed only if its
    /// bytes hash as they did when checked, and before the first byte goes to stdout
    /// the file's size and times are compared with those it had when opened. Either
    /// difference is IO_ERROR, "changed while it was read": with nothing on stdout when
    /// seen before the first flush, else with stdout cut short, an array without its
    /// `]` (never a whole JSON document).
    static func printWindowed(_ inv: Invocation, _ checked: Checked, _ window: inout Window, filter: ListFilter, opened: stat) throws {
        let usage = inv.usage.times { try? inv.keystoreFile().usageFile() }
        var out = Output(window, opened: opened)
        defer { out.buffer.free() }
        let file = window.file
        let writer = RecordWriter(version: checked.version, now: inv.now, usage: usage)
        out.buffer.append("[")
        var first = true
        try RecordSchema.steps.withUnsafeBufferPointer { steps in
            try forEachNewestFirst(checked, &window) { i, base, start, end in
                if !checked.isGeneral(i) {
                    guard
                        let written = writer.write(
                            base: base, start: start, end: end, steps: steps, filter: filter, to: &out.buffer, comma: !first)
                    else { throw changed(file) }
                    guard written else { return }
                } else {
                    // A record the general reader took: built, and printed as every record is.
                    guard let (record, recordEnd) = generalRecord(base, from: start, to: end), recordEnd == end else { throw changed(file) }
                    guard filter.keeps(record) != nil else { return }
                    var w = JSONWriter(capacity: 512)
                    if !first { w.raw(",") }
                    inv.writeRecord(record, to: &w)
                    out.buffer.reserve(w.bytes.count)
                    out.buffer.append(w.bytes)
                }
                first = false
                try out.flushIfFull(inv)
            }
        }
        out.buffer.append("]\n")
        try out.flush(inv)
    }

    /// Visits the checked records newest first: `body(i, base, start, end)` with record
    /// `i` in `base[start..<end]`, its bytes the ones checked (else "changed while it
    /// was read"). Backwards through the windows when the file is in time order.
    static func forEachNewestFirst(
        _ checked: Checked, _ window: inout Window, _ body: (Int, UnsafePointer<UInt8>, Int, Int) throws -> Void
    ) throws {
        let order = try newestFirstOrder(checked, &window)
        let count = checked.offsets.count
        for k in 0..<count {
            let i = order.map { Int($0[k]) } ?? count - 1 - k
            let from = checked.start(of: i), to = checked.end(of: i)
            if from < window.start || to > window.end {
                // Backwards in windows when the file is in time order; else just the record.
                let low = order == nil ? max(0, to - window.capacity) : from
                try window.load(min(low, from), to)
            }
            let base = UnsafePointer(window.buffer)
            guard ByteHash.wide(base + (from - window.start), to - from) == checked.hashes[i] else { throw changed(window.file) }
            try body(i, base, from - window.start, to - window.start)
        }
    }

    /// Output through a buffer. Before its first byte goes out the file's size and
    /// times are compared with those it had when opened, unless it is all in the window
    /// (nothing is read again).
    struct Output {
        var buffer = OutputBuffer(capacity: flushSize + longestRecord * 2)
        var timesCompared: Bool
        let opened: stat
        /// The window's file (its descriptor), not its bytes.
        let window: Window

        init(_ window: Window, opened: stat) {
            timesCompared = window.size <= window.capacity
            self.opened = opened
            self.window = window
        }

        mutating func flushIfFull(_ inv: Invocation) throws {
            if buffer.count >= flushSize { try flush(inv) }
        }

        mutating func flush(_ inv: Invocation) throws {
            if !timesCompared { try unchanged(window, since: opened) }
            timesCompared = true
            try buffer.flush(inv)
        }
    }

    // MARK: The table, streamed

    /// `list` without --json, the windowed way: the rows ListCommand.run prints, a
    /// record at a time, never the whole keystore in memory. On a terminal the
    /// columns' widths depend on every row: a first pass takes the widths and a
    /// second prints; into a pipe (tabs, no padding) one pass prints. Nil, with
    /// nothing printed, when the file is not in keyctl's layout (the caller loads it).
    static func printRows(_ inv: Invocation, filter: ListFilter) throws -> (records: Int, kept: Int, anyRevoked: Bool)? {
        let file = try inv.keystoreFile()
        guard let (fd, st) = try file.openForReading() else { throw file.notFound() }
        defer { close(fd) }
        let size = Int(st.st_size)
        guard size > 0, size < Int(Checked.generalMark) else { return nil }
        var window = try Window(fd: fd, size: size, capacity: min(file.system.listWindowSize, size), file: file)
        defer { window.free() }
        guard let checked = try checkWindowed(&window) else { return nil }
        try file.system.faultInjection?("list checked")
        let usage = inv.usage.times { try? inv.keystoreFile().usageFile() }
        let now = inv.now
        let isTable = inv.context.stdoutIsTerminal
        var out = Output(window, opened: st)
        defer { out.buffer.free() }
        var widths = ListCommand.header.map(DisplayWidth.of)
        var kept = 0
        var anyRevoked = false
        /// Each kept record's row, in order.
        func rows(_ body: ([String]) throws -> Void) throws {
            try forEachNewestFirst(checked, &window) { _, base, start, end in
                var record: KeyRecord
                do throws(KeystoreFault) {
                    record = try KeystoreCodec.decodeRecord(UnsafeBufferPointer(start: base + start, count: end - start))
                } catch {
                    throw changed(file)  // its bytes are the ones checked: cannot happen
                }
                record.lastUsedAt = record.lastUsed(merging: usage)
                let status = record.status(at: now)
                if status == .revoked { anyRevoked = true }
                guard filter.keeps(record) != nil else { return }
                try body(ListCommand.row(record, status: status, inv))
            }
        }
        try rows { row in
            kept += 1
            if isTable {
                for (i, cell) in row.enumerated() { widths[i] = max(widths[i], DisplayWidth.of(cell)) }
            } else {
                out.buffer.append(Array(ListCommand.tabSeparated([row]).utf8))
                try out.flushIfFull(inv)
            }
        }
        if isTable && kept > 0 {
            let color = inv.context.useColor
            var line = ""
            ListCommand.tableLine(ListCommand.header, widths: widths, color: false, to: &line)
            out.buffer.append(Array(line.utf8))
            try rows { row in
                line = ""
                ListCommand.tableLine(row, widths: widths, color: color, to: &line)
                out.buffer.reserve(line.utf8.count)
                out.buffer.append(Array(line.utf8))
                try out.flushIfFull(inv)
            }
        }
        if kept > 0 { try out.flush(inv) }
        return (checked.offsets.count, kept, anyRevoked)
    }

    /// Throws "changed while it was read" unless the file has the size and the times
    /// it had when opened. (A write through a shared mapping, or one within the file
    /// system's timestamp granularity, may leave them alone: the records' hashes
    /// still see it, when the record is printed.)
    static func unchanged(_ window: Window, since opened: stat) throws(KeyCtlError) {
        guard let now = window.file.system.status(of: window.fd, path: window.file.path), now.st_size == opened.st_size,
            now.st_mtim.tv_sec == opened.st_mtim.tv_sec, now.st_mtim.tv_nsec == opened.st_mtim.tv_nsec,
            now.st_ctim.tv_sec == opened.st_ctim.tv_sec, now.st_ctim.tv_nsec == opened.st_ctim.tv_nsec
        else { throw changed(window.file) }
    }

    /// Output bytes, flushed to stdout in pieces.
    struct OutputBuffer {
        var capacity: Int
        var bytes: UnsafeMutablePointer<UInt8>
        var count = 0

        init(capacity: Int) {
            self.capacity = capacity
            bytes = .allocate(capacity: capacity)
        }

        func free() { bytes.deallocate() }

        @inline(__always) mutating func append(_ p: UnsafePointer<UInt8>, _ n: Int) {
            memcpy(bytes + count, p, n)
            count += n
        }

        /// Room for `n` more bytes (a record the general reader took may be long).
        mutating func reserve(_ n: Int) {
            guard count + n > capacity else { return }
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: count + n)
            bigger.update(from: bytes, count: count)
            bytes.deallocate()
            bytes = bigger
            capacity = count + n
        }

        @inline(__always) mutating func append(_ s: StaticString) { append(s.utf8Start, s.utf8CodeUnitCount) }

        @inline(__always) mutating func append(_ b: [UInt8]) { b.withUnsafeBufferPointer { append($0.baseAddress!, $0.count) } }

        @inline(__always) mutating func append(_ b: UnsafeBufferPointer<UInt8>) { append(b.baseAddress!, b.count) }

        mutating func flush(_ inv: Invocation) throws {
            guard count > 0 else { return }
            try inv.output(Array(UnsafeBufferPointer(start: bytes, count: count)))
            count = 0
        }
    }

    /// Writes a checked record's --json object from its stored bytes.
    struct RecordWriter {
        /// One --json member: its `,"key":` text and where its value comes from.
        struct Member {
            let key: UnsafeBufferPointer<UInt8>
            /// Its place in RecordSchema.stored, or -1 (status).
            let slot: Int
            /// The first keystore format that stores it.
            let since: Int
        }

        /// Made once and never freed, like FieldStep.literal: no reference counting per record.
        static func text(_ bytes: [UInt8]) -> UnsafeBufferPointer<UInt8> {
            let storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
            _ = storage.initialize(from: bytes)
            return UnsafeBufferPointer(storage)
        }

        static func table<T>(_ items: [T]) -> UnsafeBufferPointer<T> {
            let storage = UnsafeMutableBufferPointer<T>.allocate(capacity: items.count)
            _ = storage.initialize(from: items)
            return UnsafeBufferPointer(storage)
        }

        /// The writer's texts, made once: never written after, so shared safely.
        struct Tables: @unchecked Sendable {
            let members: UnsafeBufferPointer<Member>
            let permissionTexts: UnsafeBufferPointer<UnsafeBufferPointer<UInt8>>
            let statusTexts: UnsafeBufferPointer<UnsafeBufferPointer<UInt8>>
        }

        static let tables = Tables(members: membersTable(), permissionTexts: permissionTable(), statusTexts: statusTable())

        static func membersTable() -> UnsafeBufferPointer<Member> {
            table(
                RecordSchema.jsonMembers.enumerated().map { i, member in
                    let (field, key, _) = member
                    let slot = RecordSchema.stored.firstIndex(of: field)
                    return Member(
                        key: text(Array((i == 0 ? "\"" : ",\"").utf8) + Array(key.description.utf8) + Array("\":".utf8)), slot: slot ?? -1,
                        since: slot.map { RecordSchema.stored[$0].spec.since } ?? 1)
                })
        }

        /// `["read"]`… for each permission set, in the table's order.
        static func permissionTable() -> UnsafeBufferPointer<UnsafeBufferPointer<UInt8>> {
            table(
                (0..<16).map { raw in
                    var w = JSONWriter(capacity: 64)
                    w.strings(Permissions(rawValue: UInt8(raw)).names)
                    return text(w.bytes)
                })
        }

        static func statusTable() -> UnsafeBufferPointer<UnsafeBufferPointer<UInt8>> {
            table(
                [KeyStatus.active, .expired, .retiring, .revoked].map { status in
                    var w = JSONWriter(capacity: 16)
                    w.string(status.rawValue)
                    return text(w.bytes)
                })
        }

        let members = RecordWriter.tables.members
        let permissions = RecordWriter.tables.permissionTexts
        let statuses = RecordWriter.tables.statusTexts
        let version: Int
        let now: Timestamp
        let usage: [UsageFile.Prefix: Timestamp]
        let hasUsage: Bool
        let digestSlot = RecordSchema.digestSlot
        let expiresSlot = RecordSchema.stored.firstIndex(of: .expiresAt)!
        let revokedSlot = RecordSchema.revokedAtSlot
        let lastUsedSlot = RecordSchema.stored.firstIndex(of: .lastUsedAt)!
        let permissionsSlot = RecordSchema.stored.firstIndex(of: .permissions)!

        init(version: Int, now: Timestamp, usage: [UsageFile.Prefix: Timestamp]) {
            self.version = version
            self.now = now
            self.usage = usage
            hasUsage = !usage.isEmpty
        }

        /// Writes the record in `base[start..<end]`, which the check pass took through the
        /// fast scanner (`,` first when `comma`), if the filter keeps it: true if written,
        /// false if not kept, nil if its bytes are no longer in that layout.
        ///
        /// The record was checked, so its values are only located here: each field is
        /// its literal, then null, a string without escapes (ending at the next quote),
        /// a time (22 bytes), an environment (6) or a permission list (ending at `]`).
        /// Only the times the status needs are parsed.
        func write(
            base: UnsafePointer<UInt8>, start: Int, end: Int, steps: UnsafeBufferPointer<FieldStep>, filter: ListFilter,
            to out: inout OutputBuffer, comma: Bool
        ) -> Bool? {
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * steps.count) { bounds -> Bool? in
                // Where each stored value lies: [bounds[2i], bounds[2i + 1]).
                var q = start
                for i in 0..<steps.count {
                    let step = steps[i]
                    guard step.since <= version else {
                        bounds[2 * i] = -1
                        continue
                    }
                    let n = step.literal.count
                    guard q + n < end, base[q] == step.literal[0], base[q + n - 1] == 0x3A else { return nil }
                    q += n
                    bounds[2 * i] = q
                    if base[q] == 0x6E {
                        q += 4  // null
                    } else {
                        switch step.kind {
                        case .time: q += 22
                        case .environment: q += 6
                        case .permissions:
                            guard let close = memchr(base + q, 0x5D, end - q) else { return nil }
                            q = UnsafeRawPointer(close) - UnsafeRawPointer(base) + 1
                        default:
                            guard base[q] == 0x22, let close = memchr(base + q + 1, 0x22, end - q - 1) else { return nil }
                            q = UnsafeRawPointer(close) - UnsafeRawPointer(base) + 1
                        }
                    }
                    guard q < end else { return nil }
                    bounds[2 * i + 1] = q
                }
                guard q + 1 == end, base[q] == 0x7D else { return nil }
                @inline(__always) func time(_ slot: Int) -> Timestamp?? {
                    let from = bounds[2 * slot]
                    if base[from] == 0x6E { return .some(nil) }
                    return RFC3339.parseCanonical(base + from + 1).map { .some($0) }
                }
                guard let expiresAt = time(expiresSlot), let revokedAt = time(revokedSlot) else { return nil }
                guard let status = filter.keeps(ListFilter.times(expiresAt: expiresAt, revokedAt: revokedAt)) else { return false }
                if comma { out.append(",") }
                out.append("{")
                for m in members {
                    out.append(m.key)
                    let slot = m.slot
                    guard slot >= 0 else {
                        out.append(statuses[Self.statusIndex(status)])
                        continue
                    }
                    let from = bounds[2 * slot]
                    guard from >= 0 else {
                        out.append("null")  // a field this record's format does not have
                        continue
                    }
                    let to = bounds[2 * slot + 1]
                    if slot == permissionsSlot {
                        out.append(permissions[Int(Self.permissions(base, from, to).rawValue & 15)])
                    } else if slot == lastUsedSlot, hasUsage, let stamped = stamp(base, digest: bounds[2 * digestSlot] + 1) {
                        let own = base[from] == 0x6E ? nil : RFC3339.parseCanonical(base + from + 1)
                        if let own, own >= stamped { copyTime(base, from, to, to: &out) } else { appendTime(stamped, to: &out) }
                    } else if steps[slot].kind == .time {
                        copyTime(base, from, to, to: &out)
                    } else {
                        out.append(base + from, to - from)
                    }
                }
                out.append("}")
                return true
            }
        }

        /// A stored time as --json prints it: its bytes, but a leap second (:60) is read
        /// as :59 and printed so.
        @inline(__always) func copyTime(_ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int, to out: inout OutputBuffer) {
            if base[from] != 0x6E && base[from + 18] == 0x36, let t = RFC3339.parseCanonical(base + from + 1) {
                appendTime(t, to: &out)
            } else {
                out.append(base + from, to - from)
            }
        }

        /// The set in a checked permission list: each item told by its first letters.
        @inline(__always) static func permissions(_ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Permissions {
            var set = Permissions()
            var q = from + 1
            while q < to {
                if base[q] == 0x22 {
                    switch base[q + 1] {
                    case 0x72: set.insert(.read)
                    case 0x61: set.insert(.admin)
                    default: set.insert(base[q + 2] == 0x72 ? .write : .webhook)
                    }
                    guard let close = memchr(base + q + 1, 0x22, to - q - 1) else { break }
                    q = UnsafeRawPointer(close) - UnsafeRawPointer(base) + 1
                } else {
                    q += 1
                }
            }
            return set
        }

        @inline(__always) static func statusIndex(_ s: KeyStatus) -> Int {
            switch s {
            case .active: 0
            case .expired: 1
            case .retiring: 2
            case .revoked: 3
            }
        }

        /// The usage file's newest stamp for the key whose digest starts at `digest`.
        @inline(__always) func stamp(_ base: UnsafePointer<UInt8>, digest: Int) -> Timestamp? {
            guard let prefix = UsageFile.Prefix(hex: UnsafeBufferPointer(start: base + digest, count: 64)) else { return nil }
            return usage[prefix]
        }

        func appendTime(_ t: Timestamp, to out: inout OutputBuffer) {
            var text: [UInt8] = [0x22]
            RFC3339.append(t, to: &text)
            text.append(0x22)
            out.append(text)
        }
    }

    // MARK: The mapped way

    /// The whole file read into memory of its own (not mapped: an edit in place would
    /// show through a mapping), checked, and printed from that copy: what is printed
    /// is what was checked, whatever happens to the file meanwhile.
    static func printMapped(_ inv: Invocation, _ file: KeystoreFile, fd: Int32, size: Int, filter: ListFilter) throws {
        try file.readAll(fd, sizeHint: size).withUnsafeBufferPointer { bytes in
            let spans: [RecordSpan]
            do throws(KeystoreFault) {
                (_, spans) = try KeystoreCodec.decodeSpans(bytes)
            } catch {
                throw file.corrupt(error, in: bytes)
            }
            // Between the passes (tests edit the file in place here).
            try file.system.faultInjection?("list checked")
            var w = JSONWriter(capacity: flushSize + 4096)
            w.raw("[")
            var first = true
            try forEachNewestFirst(spans) { span in
                let start = Int(span.offset)
                let record: KeyRecord
                do throws(KeystoreFault) {
                    record = try KeystoreCodec.decodeRecord(UnsafeBufferPointer(rebasing: bytes[start..<(start + Int(span.length))]))
                } catch {
                    // Checked whole a moment ago, in this same copy: cannot happen.
                    throw file.corrupt(KeystoreFault(offset: start + (error.offset ?? 0), message: error.message), in: bytes)
                }
                guard filter.keeps(record) != nil else { return }
                if !first { w.raw(",") }
                first = false
                inv.writeRecord(record, to: &w)
                if w.bytes.count >= flushSize {
                    try inv.output(w.bytes)
                    w.bytes.removeAll(keepingCapacity: true)
                }
            }
            w.raw("]\n")
            try inv.output(w.bytes)
        }
    }

    /// Visits spans by created_at, newest first, and among equal times the later in
    /// the file first (ListCommand.newestFirst's order). A file keyctl appended to in
    /// time order is walked backwards without sorting.
    static func forEachNewestFirst(_ spans: [RecordSpan], _ body: (RecordSpan) throws -> Void) throws {
        var ordered = true
        var i = 1
        while i < spans.count {
            if spans[i].createdAt < spans[i - 1].createdAt {
                ordered = false
                break
            }
            i += 1
        }
        if ordered {
            for span in spans.reversed() { try body(span) }
            return
        }
        var order = [Int32](0..<Int32(spans.count))
        order.sort { a, b in
            let ta = spans[Int(a)].createdAt, tb = spans[Int(b)].createdAt
            return ta != tb ? ta > tb : a > b
        }
        for k in order { try body(spans[Int(k)]) }
    }
}
