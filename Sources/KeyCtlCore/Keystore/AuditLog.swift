// The audit log beside the keystore, `PATH.log`. Invariants this file keeps:
//
// - One entry a line, JSON, oldest first. Entry n has "seq": n and "prev": the SHA-256
//   (lowercase hex) of line n-1 without its newline; entry 1 has "prev": null.
// - The keystore's "log" head names the last entry that belongs to the log: its seq and
//   the hash of its line. Bytes past that line are what a write left when it died
//   before its keystore was renamed into place: not part of the log, never shown, and
//   cut by the next write.
// - Write-ahead, under the keystore lock: check the tail against the head (`prepare`),
//   cut the leftover, append the entry and fsync (`append`), then rename the keystore
//   that records the new head. So a change is in the keystore if and only if its entry
//   is in the log.
// - What a write checks (`prepare`): the head also records the log's size, inode and
//   ctime as the last write left it. When the log still has them, only the tail is
//   read: the head entry's line must end the file and hash to the head's hash. Else
//   (a write killed before its rename, a restored or edited log) the whole chain is
//   checked as `read` does, allowing after the head at most what one interrupted write
//   leaves. `read` (`keyctl log`, `log --verify`) always checks the whole chain. What
//   each catches is listed in the README ("History and audit").
// - Never a secret: a key appears by id, name and hint; digests and usage are not logged.

import Glibc

/// A value in a change: what a field held before or after.
public enum LogValue: Equatable, Sendable {
    case null
    case string(String)
    case integer(Int64)
    case strings([String])

    func write(to w: inout JSONWriter) {
        switch self {
        case .null: w.raw("null")
        case .string(let s): w.string(s)
        case .integer(let n): w.integer(Int(n))
        case .strings(let list): w.strings(list)
        }
    }

    /// For a person: `-` for null, a list joined by commas.
    var text: String {
        switch self {
        case .null: return "-"
        case .string(let s): return s
        case .integer(let n): return String(n)
        case .strings(let list): return list.joined(separator: ",")
        }
    }
}

/// One field's old and new value.
public struct LogChange: Equatable, Sendable {
    public var field: String
    public var old: LogValue
    public var new: LogValue
}

/// What one entry says about one key.
public struct LogKey: Equatable, Sendable {
    public var id: String
    public var name: String
    public var hint: String
    public var changes: [LogChange]
}

/// Who makes a change, and with which command.
public struct AuditAuthor: Sendable {
    public var command: String
    public var time: Timestamp
    public var uid: Int64
    /// The user's name from /etc/passwd; nil when there is none (the log shows the uid).
    public var user: String?
    /// `$KEYCTL_ACTOR`: who is acting, in their own words (a CI job, a ticket).
    public var actor: String?

    public init(command: String, time: Timestamp, uid: Int64, user: String?, actor: String?) {
        self.command = command
        self.time = time
        self.uid = uid
        self.user = user
        self.actor = actor
    }

    /// This process: the effective uid and its name, the system clock, no actor.
    public static func process(command: String) -> AuditAuthor {
        let uid = Int64(geteuid())
        return AuditAuthor(command: command, time: Timestamp(Glibc.time(nil)), uid: uid, user: UserNames.name(of: uid), actor: nil)
    }
}

/// One entry of the audit log.
public struct AuditEntry: Equatable, Sendable {
    public var seq: Int64
    public var prev: String?
    public var time: Timestamp
    public var uid: Int64
    public var user: String?
    public var actor: String?
    public var command: String
    public var keys: [LogKey]
    public var settings: [LogChange]

    /// The entry's line, without the newline. Its SHA-256 is what the next entry's
    /// `prev` and the keystore's head record.
    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 256 + keys.count * 200)
        w.raw("{\"seq\":")
        w.integer(Int(seq))
        w.key("prev")
        w.string(prev)
        w.key("time")
        w.time(time)
        w.key("uid")
        w.integer(Int(uid))
        w.key("user")
        w.string(user)
        w.key("actor")
        w.string(actor)
        w.key("command")
        w.string(command)
        w.raw(",\"keys\":[")
        for (i, key) in keys.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"id\":")
            w.string(key.id)
            w.key("name")
            w.string(key.name)
            w.key("hint")
            w.string(key.hint)
            w.raw(",\"changes\":")
            AuditEntry.write(key.changes, to: &w)
            w.raw("}")
        }
        w.raw("],\"settings\":")
        AuditEntry.write(settings, to: &w)
        w.raw("}")
        return w.bytes
    }

    static func write(_ changes: [LogChange], to w: inout JSONWriter) {
        w.raw("{")
        for (i, change) in changes.enumerated() {
            if i > 0 { w.raw(",") }
            w.string(change.field)
            w.raw(":[")
            change.old.write(to: &w)
            w.raw(",")
            change.new.write(to: &w)
            w.raw("]")
        }
        w.raw("}")
    }

    // MARK: What a change was

    /// The fields of a key record the log follows, in the order it lists them. Not the
    /// digest (the log never needs it) nor last_used_at (usage is not a change).
    static let fields: [(String, @Sendable (KeyRecord) -> LogValue)] = [
        ("name", { .string($0.name) }),
        ("description", { $0.description.map(LogValue.string) ?? .null }),
        ("environment", { .string($0.environment.rawValue) }),
        ("permissions", { .strings($0.permissions.names) }),
        ("created_at", { time($0.createdAt) }),
        ("expires_at", { time($0.expiresAt) }),
        ("revoked_at", { time($0.revokedAt) }),
        ("rotated_from", { $0.rotatedFrom.map(LogValue.string) ?? .null }),
        ("rotated_to", { $0.rotatedTo.map(LogValue.string) ?? .null }),
    ]

    static func time(_ t: Timestamp?) -> LogValue { t.map { .string(RFC3339.format($0)) } ?? .null }

    /// Every key that differs between `before` (nil: no keystore yet) and `after`, and
    /// every setting: new keys have null before, removed keys null after. `changes`:
    /// which records differ (RecordChanges.between), when the caller has it; only
    /// those are compared field by field.
    static func differences(from before: Keystore?, to after: Keystore, changes: RecordChanges? = nil) -> (keys: [LogKey], settings: [LogChange]) {
        var settings: [LogChange] = []
        func setting(_ field: String, _ old: LogValue, _ new: LogValue) {
            if old != new { settings.append(LogChange(field: field, old: old, new: new)) }
        }
        setting("prefix", before.map { .string($0.prefix) } ?? .null, .string(after.prefix))
        setting("max_keys", before.map { .integer(Int64($0.maxKeys)) } ?? .null, .integer(Int64(after.maxKeys)))

        let old = before?.keys ?? []
        let changes = changes ?? RecordChanges.between(old, after.keys)
        var keys: [LogKey] = []
        for i in changes.differing {
            let record = after.keys[i]
            let j = Int(changes.oldIndex[i])
            let changes = diff(j < 0 ? nil : old[j], record)
            if !changes.isEmpty { keys.append(LogKey(id: record.id, name: record.name, hint: record.hint, changes: changes)) }
        }
        // Removed keys, in the order they stood.
        for j in changes.removed {
            let record = old[j]
            keys.append(LogKey(id: record.id, name: record.name, hint: record.hint, changes: diff(record, nil)))
        }
        return (keys, settings)
    }

    static func diff(_ a: KeyRecord?, _ b: KeyRecord?) -> [LogChange] {
        var out: [LogChange] = []
        for (field, value) in fields {
            let old = a.map(value) ?? .null
            let new = b.map(value) ?? .null
            if old != new { out.append(LogChange(field: field, old: old, new: new)) }
        }
        return out
    }

    /// The first entry of an upgraded version 1 keystore: every key and setting as it
    /// was, so every later entry has a before.
    static func snapshot(of keystore: Keystore) -> (keys: [LogKey], settings: [LogChange]) {
        var (keys, settings) = differences(from: nil, to: keystore)
        settings.append(LogChange(field: "version", old: .integer(Int64(keystore.version)), new: .integer(Int64(Keystore.currentVersion))))
        // A key whose fields are all null would list no change; a snapshot lists every key.
        keys = keystore.keys.map { record in
            keys.first { $0.id == record.id } ?? LogKey(id: record.id, name: record.name, hint: record.hint, changes: [])
        }
        return (keys, settings)
    }
}

// MARK: - Reading entries

struct LogLineFault: Error {
    var message: String
}

extension AuditEntry {
    /// Parses one line (without its newline), strictly: the fields `encoded` writes, in
    /// that order, and nothing else.
    static func decode(_ line: UnsafeBufferPointer<UInt8>) throws(LogLineFault) -> AuditEntry {
        do {
            var r = JSONReader(line)
            try r.expect(UInt8(ascii: "{"), "'{'")
            func field(_ name: StaticString, _ first: Bool = false) throws {
                if !first { try r.expect(UInt8(ascii: ","), "','") }
                let k = try r.key()
                guard r.equals(k, name) else { throw LogLineFault(message: "expected field '\(name)', found '\(r.text(k))'") }
            }
            func optionalString() throws -> String? { r.null() ? nil : r.text(try r.string()) }
            try field("seq", true)
            let seq = try r.integer()
            try field("prev")
            let prev = try optionalString()
            if let prev {
                guard prev.utf8.count == 64, prev.utf8.allSatisfy({ Hex.value(of: $0) != nil && !($0 >= 65 && $0 <= 90) }) else {
                    throw LogLineFault(message: "prev is not a SHA-256 in lowercase hex")
                }
            }
            try field("time")
            guard let time = RFC3339.parse(Array(r.text(try r.string()).utf8)) else { throw LogLineFault(message: "time is not RFC 3339") }
            try field("uid")
            let uid = try r.integer()
            try field("user")
            let user = try optionalString()
            try field("actor")
            let actor = try optionalString()
            try field("command")
            let command = r.text(try r.string())
            try field("keys")
            try r.expect(UInt8(ascii: "["), "'['")
            var keys: [LogKey] = []
            var first = true
            while try r.nextElement(&first) {
                try r.expect(UInt8(ascii: "{"), "'{'")
                try field("id", true)
                let id = r.text(try r.string())
                try field("name")
                let name = r.text(try r.string())
                try field("hint")
                let hint = r.text(try r.string())
                try field("changes")
                let changes = try decodeChanges(&r)
                try r.expect(UInt8(ascii: "}"), "'}'")
                keys.append(LogKey(id: id, name: name, hint: hint, changes: changes))
            }
            try field("settings")
            let settings = try decodeChanges(&r)
            try r.expect(UInt8(ascii: "}"), "'}'")
            try r.end()
            return AuditEntry(
                seq: seq, prev: prev, time: time, uid: uid, user: user, actor: actor, command: command, keys: keys, settings: settings)
        } catch let fault as LogLineFault {
            throw fault
        } catch let error as JSONSyntaxError {
            throw LogLineFault(message: "\(error.message) at column \(error.offset + 1)")
        } catch {
            throw LogLineFault(message: "\(error)")
        }
    }

    static func decodeChanges(_ r: inout JSONReader) throws -> [LogChange] {
        try r.expect(UInt8(ascii: "{"), "'{'")
        var out: [LogChange] = []
        var first = true
        while try r.nextMember(&first) {
            let field = r.text(try r.key())
            try r.expect(UInt8(ascii: "["), "'['")
            let old = try decodeValue(&r)
            try r.expect(UInt8(ascii: ","), "','")
            let new = try decodeValue(&r)
            try r.expect(UInt8(ascii: "]"), "']'")
            out.append(LogChange(field: field, old: old, new: new))
        }
        return out
    }

    static func decodeValue(_ r: inout JSONReader) throws -> LogValue {
        if r.null() { return .null }
        switch r.peek() {
        case UInt8(ascii: "\""):
            return .string(r.text(try r.string()))
        case UInt8(ascii: "["):
            try r.expect(UInt8(ascii: "["), "'['")
            var list: [String] = []
            var first = true
            while try r.nextElement(&first) { list.append(r.text(try r.string())) }
            return .strings(list)
        default:
            return .integer(try r.integer())
        }
    }
}

extension Hex {
    static func value(of c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
}

// MARK: - The file

public struct AuditLog {
    /// PATH.log, opened and checked as every file beside the keystore (BesideFile.swift).
    let file: BesideFile
    public var path: String { file.path }

    public init(_ file: BesideFile) {
        self.file = file
    }

    func corrupt(_ message: String, hint: String? = nil) -> KeyCtlError {
        KeyCtlError(
            .logCorrupt, "audit log \(path) does not verify: \(message)",
            hint: hint
                ?? "keyctl changes nothing until it does: restore the log from a backup ('keyctl log --verify' says where it breaks; see README, History and audit)"
        )
    }

    func missing(_ head: LogHead) -> KeyCtlError {
        corrupt(
            "it is missing, but the keystore records \(head.seq) \(head.seq == 1 ? "entry" : "entries") (last \(head.hash))",
            hint: "restore the log from a backup; keyctl changes nothing until it is back")
    }

    static func hash(_ line: UnsafeBufferPointer<UInt8>) -> String { Hex.encode(SHA256.hash(line)) }

    // MARK: Opening

    /// Opens the log (never through a link; a regular file of the keystore's owner that
    /// no one else can write). Nil when there is none and `create` is false.
    func open(write: Bool = false, create: Bool = false) throws -> (fd: Int32, size: Int, created: Bool)? {
        if create, let made = try file.create() { return (made.fd, 0, true) }
        guard let opened = try file.openExisting(writable: write) else { return nil }
        return (opened.fd, Int(opened.status.st_size), false)
    }

    func readAll(_ fd: Int32, from offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                if n == 0 { break }
                throw KeyCtlError(.ioError, "cannot read audit log \(path): \(errorText(errno))")
            }
            done += n
        }
        bytes.removeSubrange(done...)
        return bytes
    }

    // MARK: The whole chain

    /// What `read` found.
    public struct Contents {
        /// The entries that belong to the log, oldest first.
        public var entries: [AuditEntry]
        /// The hash of the last entry's line (nil for an empty log).
        public var lastHash: String?
        /// Lines past the head, from a write that did not finish (the last may be partial).
        public var leftoverLines: Int
        /// Where the head entry's line ends: the log's length without the leftover.
        var headEnd: Int
    }

    /// Reads the whole log and checks every entry against the one before and the last
    /// against the keystore's head. Any fault is LOG_CORRUPT naming the first entry
    /// that does not fit.
    public func read(head: LogHead?) throws -> Contents {
        guard let (fd, size, _) = try open() else {
            if let head { throw missing(head) }
            return Contents(entries: [], lastHash: nil, leftoverLines: 0, headEnd: 0)
        }
        defer { Glibc.close(fd) }
        let bytes = try readAll(fd, from: 0, count: size)
        return try bytes.withUnsafeBufferPointer { try check($0, head: head) }
    }

    func check(_ bytes: UnsafeBufferPointer<UInt8>, head: LogHead?) throws -> Contents {
        var entries: [AuditEntry] = []
        var lastHash: String?
        var start = 0
        var line = 0
        if let head {
            while start < bytes.count && Int64(entries.count) < head.seq {
                line += 1
                let expected = Int64(entries.count) + 1
                guard let newline = bytes[start...].firstIndex(of: 0x0a) else {
                    throw corrupt("it ends in the middle of entry \(expected) (line \(line)), but the keystore records \(head.seq) entries")
                }
                let text = UnsafeBufferPointer(rebasing: bytes[start..<newline])
                let entry: AuditEntry
                do throws(LogLineFault) {
                    entry = try AuditEntry.decode(text)
                } catch {
                    throw corrupt("line \(line) is not a log entry: \(error.message)")
                }
                guard entry.seq == expected else {
                    throw corrupt(
                        "line \(line) holds entry \(entry.seq) where entry \(expected) belongs (an entry was removed, reordered or added by hand)")
                }
                guard entry.prev == lastHash else {
                    throw corrupt(
                        expected == 1
                            ? "entry 1 (line 1) does not start the chain: its prev is not null (entries before it were removed)"
                            : "entry \(expected) (line \(line)) does not fit: its prev is not the hash of entry \(expected - 1) (entry \(expected - 1) was edited, or entries were removed or reordered)"
                    )
                }
                lastHash = AuditLog.hash(text)
                entries.append(entry)
                start = newline + 1
            }
            guard Int64(entries.count) == head.seq else {
                throw corrupt("it ends after entry \(entries.count), but the keystore records \(head.seq) entries (the log was cut short)")
            }
            guard lastHash == head.hash else {
                throw corrupt(
                    "entry \(head.seq) (line \(line)) is not the entry the keystore records as the last (hash \(head.hash)): that entry, or the keystore's record of it, was changed"
                )
            }
        }
        let leftover = UnsafeBufferPointer(rebasing: bytes[start...])
        let lines = try checkLeftover(leftover, after: head, firstLine: line + 1)
        return Contents(entries: entries, lastHash: lastHash, leftoverLines: lines, headEnd: start)
    }

    /// What follows the head must be what one interrupted write leaves: at most two
    /// whole entries that continue the chain (an upgrade writes two), then perhaps
    /// part of a line. Anything else was put there by hand. Returns the number of lines.
    func checkLeftover(_ bytes: UnsafeBufferPointer<UInt8>, after head: LogHead?, firstLine: Int) throws -> Int {
        var seq = head?.seq ?? 0
        var hash = head?.hash
        var start = 0
        var count = 0
        while start < bytes.count {
            count += 1
            let where_ = head.map { "after entry \($0.seq), the last the keystore records," } ?? "in a log the keystore records no entry of,"
            guard let newline = bytes[start...].firstIndex(of: 0x0a) else { break }
            let text = UnsafeBufferPointer(rebasing: bytes[start..<newline])
            let line = firstLine + count - 1
            guard count <= 2 else {
                throw corrupt(
                    "line \(line) \(where_) is one line too many for an interrupted write: entries were added by hand, or the keystore is an older copy"
                )
            }
            guard let entry = try? AuditEntry.decode(text), entry.seq == seq + 1, entry.prev == hash else {
                throw corrupt(
                    "line \(line) \(where_) does not continue the chain: it was added by hand, or the keystore is an older copy")
            }
            seq += 1
            hash = AuditLog.hash(text)
            start = newline + 1
        }
        return count
    }

    // MARK: Writing

    /// An append in progress: the log is open, checked, and cut back to its head.
    struct Append {
        let log: AuditLog
        let fd: Int32
        /// Where the log's head line ends: the length to cut back to.
        let length: Int
        let created: Bool
        let head: LogHead?

        func close() { Glibc.close(fd) }

        /// Writes `entries` (each with its seq and prev filled in here) after the head
        /// and flushes them to disk. Returns the new head.
        func write(_ entries: [AuditEntry]) throws -> LogHead {
            var seq = head?.seq ?? 0
            var prev = head?.hash
            var bytes: [UInt8] = []
            for var entry in entries {
                seq += 1
                entry.seq = seq
                entry.prev = prev
                let line = entry.encoded()
                prev = line.withUnsafeBufferPointer { AuditLog.hash($0) }
                bytes += line
                bytes.append(0x0a)
            }
            guard ftruncate(fd, off_t(length)) == 0 else { throw log.writeError("cannot cut the audit log \(log.path) back to its head", errno) }
            var written = 0
            while written < bytes.count {
                let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(length + written)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw log.writeError("cannot write the audit log \(log.path)", errno)
                }
                written += n
            }
            guard fsync(fd) == 0 else { throw log.writeError("cannot flush the audit log \(log.path) to disk", errno) }
            if created { log.syncDirectory() }
            return LogHead(seq: seq, hash: prev!, file: AuditLog.identity(of: fd))
        }

        /// Takes the entries back out: the keystore was not written after all.
        func undo() {
            if created {
                unlink(log.path)
                log.syncDirectory()
            } else {
                _ = ftruncate(fd, off_t(length))
                _ = fsync(fd)
            }
        }
    }

    func writeError(_ what: String, _ e: Int32) -> KeyCtlError {
        let hint = e == ENOSPC || e == EDQUOT ? "free some disk space; the keystore was not changed" : "the keystore was not changed"
        return KeyCtlError(.ioError, "\(what): \(errorText(e))", hint: hint)
    }

    func syncDirectory() {
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = Glibc.open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        Glibc.close(fd)
    }

    /// Opens the log for an append and checks, cheaply, that it ends where the keystore
    /// says: the line of entry `head.seq` hashes to `head.hash`, and what follows it is
    /// at most one interrupted write. Only the tail is read. The whole chain is
    /// `read`'s job (`keyctl log --verify`).
    func prepare(head: LogHead?) throws -> Append {
        // A log is started only for a keystore that records none: a missing log is
        // not silently replaced by a new one.
        guard let (fd, size, created) = try open(write: true, create: head == nil) else {
            if let head { throw missing(head) }
            throw KeyCtlError(.ioError, "cannot create audit log \(path)")
        }
        var ok = false
        defer { if !ok { Glibc.close(fd) } }
        var length = 0
        if let head, let known = head.file, known == AuditLog.identity(of: fd) {
            // Untouched since the last write: its end is the head's line.
            length = try headEnd(fd, size: size, head: head)
            guard length == size else { throw corrupt("it has changed since the last write") }
        } else {
            // Changed by something other than a keyctl write that completed (a write
            // killed before its keystore was in place, a restore, a hand edit):
            // check the whole chain before extending it.
            let bytes = try readAll(fd, from: 0, count: size)
            length = try bytes.withUnsafeBufferPointer { try check($0, head: head) }.headEnd
        }
        ok = true
        return Append(log: self, fd: fd, length: length, created: created, head: head)
    }

    /// Size, inode and ctime: what changes whenever anything writes the file. The ctime
    /// cannot be set by a user, only by the kernel (or by root moving the clock).
    static func identity(of fd: Int32) -> LogFileIdentity? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return LogFileIdentity(
            size: Int64(st.st_size), inode: Int64(bitPattern: UInt64(st.st_ino)),
            ctime: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }

    /// Where the head entry's line ends (just past its newline). Reads the end of the
    /// file, more only when the last lines are long.
    func headEnd(_ fd: Int32, size: Int, head: LogHead) throws -> Int {
        if size == 0 {
            throw corrupt(
                "it is empty, but the keystore records \(head.seq) \(head.seq == 1 ? "entry" : "entries")",
                hint: "restore the log from a backup; keyctl changes nothing until it is back")
        }
        var chunk = min(size, 1 << 16)
        while true {
            let offset = size - chunk
            let bytes = try readAll(fd, from: offset, count: chunk)
            // Whole lines whose start is known, from the end back; at most three (the
            // head, then up to two leftover entries) and a partial line after them.
            var ends: [Int] = []
            var i = bytes.count - 1
            while i >= 0 {
                if bytes[i] == 0x0a { ends.append(i) }
                i -= 1
            }
            // Line k runs from just after ends[k+1] (or the start of the file) to ends[k].
            var checked = 0
            for (k, end) in ends.enumerated() {
                let startKnown = k + 1 < ends.count || offset == 0
                guard startKnown else { break }
                let start = k + 1 < ends.count ? ends[k + 1] + 1 : 0
                let found = bytes.withUnsafeBufferPointer { buffer -> Bool in
                    let text = UnsafeBufferPointer(rebasing: buffer[start..<end])
                    guard let entry = try? AuditEntry.decode(text), entry.seq == head.seq else { return false }
                    return AuditLog.hash(text) == head.hash
                }
                if found { return offset + end + 1 }
                checked += 1
                if checked == 3 { break }
            }
            if checked == 3 || offset == 0 || ends.count > 3 {
                throw corrupt(
                    "its last entries are not entry \(head.seq), the last the keystore records",
                    hint: "keyctl changes nothing until it does: restore the log from a backup ('keyctl log --verify' says where it breaks)")
            }
            chunk = min(size, chunk * 4)
        }
    }
}
