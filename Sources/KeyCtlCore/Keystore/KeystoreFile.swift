// The keystore on disk. Invariants this file keeps:
//
// - The keystore is replaced, never edited: a new file is written beside it
//   (O_EXCL, 0600, or 0640 keeping the group of a keystore shared with a group),
//   fsynced, renamed over it, and the directory is fsynced. A crash at any point
//   leaves the old file or the new one. Temporary files a crashed writer left
//   behind are removed by the next writer, which holds the lock (BesideFile.swift
//   says which files count as keyctl's).
// - Every read-modify-write holds flock(2) on `NAME.lock` beside the keystore. The
//   lock file is never deleted (deleting it would let two writers lock different
//   inodes) and the kernel drops the lock when its holder dies, so it never goes stale.
// - Readers take no lock: rename is atomic, so they see one whole version.
// - Every file beside the keystore is opened through BesideFile.swift.
// - Trust (in the spirit of ssh's StrictModes): keyctl reads a keystore only when it
//   is a regular file (not a symlink) that no one but its owner can write, in a
//   directory no one but its owner can write (or a sticky one, such as /tmp), and
//   both owners are trusted: the user keyctl runs as, root, or the user named by
//   $KEYCTL_TRUSTED_OWNER. A reader of someone else's keystore (a service reading
//   an operator's) also checks every directory above it up to `/`, along the path as
//   written and along the resolved one: each must belong to a trusted user and be
//   writable by no one else (or be sticky), since whoever can rename a directory on
//   the way can swap in a keystore of their choosing. Only the keystore's owner
//   writes it, and that is checked before anything (the lock file included) is made.
//   Every refusal says the command that fixes it, quoted so it pastes.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

public struct KeystoreFile {
    public let path: String
    /// Seconds to wait for the lock before KEYSTORE_BUSY.
    public var lockTimeout: Double = 10
    /// The user id, clocks, waiting and file-system answers (SystemSeam.swift).
    public var system = SystemSeam()
    /// A user whose keystores this process trusts besides its own and root's
    /// ($KEYCTL_TRUSTED_OWNER), for a keystore an operator shares with a service.
    public var trustedOwner: uid_t?
    /// Test hook: called between the steps of a write ("written", "synced", "renamed").
    var faultInjection: ((String) throws -> Void)? {
        get { system.faultInjection }
        set { system.faultInjection = newValue }
    }

    /// 1 GiB: about 2,800,000 records. Offsets are kept in 32 bits (RangeSet).
    public static let maximumSize = 1 << 30

    public init(path: String, lockTimeout: Double = 10) {
        self.path = path
        self.lockTimeout = lockTimeout
    }

    public var directory: String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    var baseName: String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    public var lockPath: String { path + ".lock" }

    /// The files beside a keystore with this status (see BesideFile.swift).
    public func beside(_ keystore: stat) -> BesideFiles {
        BesideFiles(keystorePath: path, owner: BesideOwner(keystore: keystore), system: system)
    }

    /// The files beside a keystore not made yet: its maker will own it.
    func besideNewKeystore() -> BesideFiles {
        BesideFiles(keystorePath: path, owner: BesideOwner(uid: system.userID()), system: system)
    }

    // MARK: Reading

    /// The keystore's bytes, after the safety checks; nil when there is no file.
    public func readBytes() throws -> [UInt8]? {
        try readBytesAndStatus()?.bytes
    }

    func readBytesAndStatus() throws -> (bytes: [UInt8], status: stat)? {
        guard let (fd, st) = try openForReading() else { return nil }
        defer { close(fd) }
        return (try readAll(fd, sizeHint: Int(st.st_size)), st)
    }

    /// Opens the keystore and runs the safety checks; nil when there is no file.
    /// The caller closes the descriptor.
    func openForReading() throws -> (Int32, stat)? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            switch e {
            case ENOENT:
                return nil
            case ELOOP:
                throw KeyCtlError(
                    .permissionDenied, "keystore \(path) is a symbolic link, which keyctl does not follow",
                    hint: "point --keystore at the file itself")
            case EACCES, EPERM:
                throw KeyCtlError(.permissionDenied, "cannot read keystore \(path): \(errorText(e))", hint: accessHint())
            case ENOTDIR:
                throw KeyCtlError(
                    .keystoreNotFound, "no keystore at \(path): a part of the path is not a directory",
                    hint: "check --keystore or KEYCTL_KEYSTORE")
            default:
                throw KeyCtlError(.ioError, "cannot open keystore \(path): \(errorText(e))")
            }
        }
        var ok = false
        defer { if !ok { close(fd) } }
        guard let st = system.status(of: fd, path: path) else {
            throw KeyCtlError(.ioError, "cannot stat keystore \(path): \(errorText(errno))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            let what = st.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file"
            throw KeyCtlError(.keystoreCorrupt, "keystore \(path) is \(what)", hint: "point --keystore at a keystore file")
        }
        try checkOwnerAndMode(st, path: path, isDirectory: false)
        try checkDirectory()
        if st.st_uid != system.userID() { try checkDirectoriesAbove() }
        guard Int(st.st_size) <= KeystoreFile.maximumSize else {
            throw KeyCtlError(
                .keystoreCorrupt, "keystore \(path) is \(st.st_size) bytes, more than keyctl reads (1 GiB)",
                hint: "restore it from a backup")
        }
        ok = true
        return (fd, st)
    }

    func readAll(_ fd: Int32, sizeHint: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(sizeHint, 0) + 1)
        var count = 0
        while true {
            if count == bytes.count { bytes.append(contentsOf: repeatElement(0, count: max(4096, bytes.count))) }
            let n = bytes.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress! + count, buffer.count - count)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw KeyCtlError(.ioError, "cannot read keystore \(path): \(errorText(errno))")
            }
            if n == 0 { break }
            count += n
            guard count <= KeystoreFile.maximumSize else {
                throw KeyCtlError(.keystoreCorrupt, "keystore \(path) is more than keyctl reads (1 GiB)", hint: "restore it from a backup")
            }
        }
        bytes.removeSubrange(count...)
        return bytes
    }

    /// Whether keyctl trusts a keystore (or its directory) owned by `uid`: the user it
    /// runs as, root, or the one $KEYCTL_TRUSTED_OWNER names.
    func isTrusted(owner uid: uid_t) -> Bool {
        uid == system.userID() || uid == 0 || uid == trustedOwner
    }

    func checkOwnerAndMode(_ st: stat, path: String, isDirectory: Bool) throws {
        if !isTrusted(owner: st.st_uid) {
            throw KeyCtlError(
                .permissionDenied, "\(isDirectory ? "directory" : "keystore") \(path) belongs to another user (uid \(st.st_uid))",
                hint: "keep the keystore in a directory of your own, or, if that user administers it, "
                    + "trust it with KEYCTL_TRUSTED_OWNER=\(st.st_uid)")
        }
        if isDirectory {
            // A sticky directory such as /tmp lets others create files but not replace ours.
            if KeystoreFile.writableByOthers(st) {
                throw KeyCtlError(
                    .permissionDenied, "directory \(path) is writable by group or others, who could replace the keystore",
                    hint: KeystoreFile.fix(st, path))
            }
        } else if KeystoreFile.writableByOthers(st) {
            throw KeyCtlError(
                .permissionDenied, "keystore \(path) is writable by group or others, who could plant a key",
                hint: KeystoreFile.fix(st, path))
        }
    }

    /// Writable by someone besides the owner, in a way that lets them replace what it
    /// holds: a file writable by group or others, a directory so and not sticky.
    static func writableByOthers(_ st: stat) -> Bool {
        let sticky = st.st_mode & S_IFMT == S_IFDIR && st.st_mode & S_ISVTX != 0
        return st.st_mode & (S_IWGRP | S_IWOTH) != 0 && !sticky
    }

    /// The command that takes group and other write permission away and keeps the
    /// rest (a shared keystore's group-read bit included), ready to paste.
    static func fix(_ st: stat, _ path: String) -> String {
        let mode = st.st_mode & 0o7777 & ~(S_IWGRP | S_IWOTH)
        return "run: chmod \(String(mode, radix: 8)) \(ShellQuoting.quote(path))"
    }

    /// What to do when the keystore cannot be opened for want of permission: its owner
    /// lets a group the reader is in read it (the file) or pass through it (the
    /// directory). Group ids, not names, so the command means the same on the owner's side.
    func accessHint() -> String {
        let st = system.status(ofPath: path)
        let (target, bit) = st == nil ? (directory, "g+x") : (path, "g+r")
        let quoted = ShellQuoting.quote(target)
        if let st, st.st_uid == system.userID() { return "run: chmod u+r \(quoted)" }
        let groups = KeystoreFile.processGroups()
        let owner = st == nil ? "the directory's owner" : "its owner"
        if let group = (st ?? system.status(ofPath: directory))?.st_gid, groups.contains(group) {
            return "\(owner) can let its group (gid \(group)) in: chmod \(bit) \(quoted)"
        }
        let ids = groups.map { String($0) }.joined(separator: ", ")
        return "\(owner) can share it with a group you are in (gid \(ids)): chgrp GID \(quoted) && chmod \(bit) \(quoted)"
    }

    /// The process's effective group and its supplementary groups.
    static func processGroups() -> [gid_t] {
        var groups = [getegid()]
        let count = getgroups(0, nil)
        if count > 0 {
            var more = [gid_t](repeating: 0, count: Int(count))
            let got = getgroups(count, &more)
            for g in more.prefix(max(Int(got), 0)) where !groups.contains(g) { groups.append(g) }
        }
        return groups
    }

    func checkDirectory() throws {
        guard let st = system.status(ofPath: directory) else {
            let e = errno
            if e == ENOENT {
                throw KeyCtlError(.keystoreNotFound, "no keystore at \(path)", hint: "create one with 'keyctl init' or 'keyctl create NAME'")
            }
            throw KeyCtlError(.permissionDenied, "cannot inspect directory \(directory): \(errorText(e))")
        }
        try checkOwnerAndMode(st, path: directory, isDirectory: true)
    }

    /// The directories above the keystore's, up to `/`: those of the path as written
    /// (made absolute) and those of the path with every symbolic link resolved, which
    /// together are the directories the kernel walks to reach the keystore.
    func directoriesAbove() -> [String] {
        var starts: [String] = []
        var written = directory
        if !written.hasPrefix("/"), let cwd = getcwd(nil, 0) {
            written = String(cString: cwd) + "/" + directory
            free(cwd)
        }
        if written.hasPrefix("/") {
            // `a//b` and `a/./b` name a/b; `..` is left as it is (through a link it is not lexical).
            let parts = written.split(separator: "/").filter { $0 != "." }
            starts.append("/" + parts.joined(separator: "/"))
        }
        if let real = realpath(directory, nil) {
            starts.append(String(cString: real))
            free(real)
        }
        // The keystore's directory itself (either way) is checkDirectory's.
        var seen = Set(starts)
        var above: [String] = []
        for start in starts {
            var dir = start
            while dir != "/" {
                let slash = dir.lastIndex(of: "/")!
                dir = slash == dir.startIndex ? "/" : String(dir[..<slash])
                if seen.insert(dir).inserted { above.append(dir) }
            }
        }
        return above
    }

    /// A reader of another user's keystore: every directory above it belongs to a
    /// trusted user and can be written by no one else (a sticky one, such as /tmp, can
    /// be written by others but they cannot rename what is not theirs).
    func checkDirectoriesAbove() throws {
        for dir in directoriesAbove() {
            guard let st = system.status(ofPath: dir) else {
                throw KeyCtlError(.permissionDenied, "cannot inspect directory \(dir) above keystore \(path): \(errorText(errno))")
            }
            if !isTrusted(owner: st.st_uid) {
                throw KeyCtlError(
                    .permissionDenied,
                    "directory \(dir) above keystore \(path) belongs to another user (uid \(st.st_uid)), who could swap the keystore for another",
                    hint: "keep a shared keystore where only root and its owner control every directory on the way")
            }
            if KeystoreFile.writableByOthers(st) {
                throw KeyCtlError(
                    .permissionDenied,
                    "directory \(dir) above keystore \(path) is writable by group or others, who could swap the keystore for another",
                    hint: KeystoreFile.fix(st, dir))
            }
        }
    }

    /// Reads and decodes the keystore; a missing one is KEYSTORE_NOT_FOUND.
    ///
    /// The file is mapped rather than copied: on a keystore with years of revoked
    /// records this is most of what `verify` costs. The mapping is private and
    /// read-only, and keyctl replaces files by rename, never truncates them in place.
    /// Each record's `lastUsedAt` is the newer of its own and its stamps in the usage file.
    public func load(onlyDigest: [UInt8]? = nil) throws -> Keystore {
        guard let (fd, st) = try openForReading() else { throw notFound() }
        defer { close(fd) }
        var keystore = try withContents(fd, size: Int(st.st_size)) { try decode($0, onlyDigest: onlyDigest) }
        let usage = UsageFile(beside(st)).times()
        if !usage.isEmpty {
            for i in keystore.keys.indices { keystore.keys[i].lastUsedAt = keystore.keys[i].lastUsed(merging: usage) }
        }
        return keystore
    }

    /// Runs `body` on the file's bytes: mapped, or read if it cannot be mapped.
    func withContents<T>(_ fd: Int32, size: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
        let bytes = try contents(fd, size: size)
        return try withExtendedLifetime(bytes) { try body(bytes.buffer) }
    }

    // MARK: verify's lookup

    public var indexPath: String { path + ".index" }
    /// Seconds after the keystore's last change before an index of it is trusted.
    var indexSettleTime: Double {
        get { system.indexSettleTime }
        set { system.indexSettleTime = newValue }
    }

    /// The keystore's settings and the record with this digest (64 lowercase hex
    /// bytes), if any; nil checks the keystore and returns no record.
    ///
    /// With a usable index (KeystoreIndex.swift) for exactly this version of the
    /// file, this reads one record. Otherwise it reads and checks the whole file,
    /// as `load` does, and leaves an index for next time once the file has settled.
    public func lookup(digest: [UInt8]?) throws -> Keystore {
        guard let (fd, st) = try openForReading() else { throw notFound() }
        defer { close(fd) }
        let beside = self.beside(st)
        let identity = KeystoreIndex.Identity(st)
        let binary = digest.flatMap { Hex.decode($0) } ?? [UInt8](repeating: 0, count: 32)
        switch KeystoreIndex.lookup(beside.file(.index), keystore: fd, identity: identity, digest: binary) {
        case .absent(let prefix, let maxKeys):
            return Keystore(prefix: prefix, maxKeys: maxKeys)
        case .at(let offset, let length, let fingerprint, let prefix, let maxKeys):
            // The record as it is now, and only if its bytes are the ones indexed.
            if let record = readRecord(fd, offset: offset, length: length, fingerprint: fingerprint), let digest,
                constantTimeEqual(record.digest.utf8, digest)
            {
                return Keystore(prefix: prefix, maxKeys: maxKeys, keys: [record])
            }
        // The index pointed somewhere else: read the whole file instead.
        case nil:
            break
        }
        let settled = identity.isSettled(now: system.realTime(), settle: system.indexSettleTime)
        return try withContents(fd, size: Int(st.st_size)) { bytes in
            guard settled else { return try decode(bytes, onlyDigest: digest ?? []) }
            let (keystore, entries): (Keystore, [KeystoreIndex.Entry])
            do throws(KeystoreFault) {
                (keystore, entries) = try KeystoreCodec.decodeForIndex(bytes, onlyDigest: digest ?? [])
            } catch {
                throw corrupt(error, in: bytes)
            }
            if let index = KeystoreIndex.encode(
                identity: identity, prefix: keystore.prefix, maxKeys: keystore.maxKeys, entries: entries, contents: bytes)
            {
                KeystoreIndex.write(index, beside: beside)
            }
            return keystore
        }
    }

    /// The usage file beside the keystore (UsageFile.swift), trusted only when it
    /// belongs to the keystore's owner.
    public func usageFile() -> UsageFile {
        var st = stat()
        return UsageFile(stat(path, &st) == 0 ? beside(st) : besideNewKeystore())
    }

    func readRecord(_ fd: Int32, offset: Int, length: Int, fingerprint: UInt64) -> KeyRecord? {
        guard length <= 1 << 20 else { return nil }
        var bytes = [UInt8](repeating: 0, count: length)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, length, off_t(offset)) }
        guard n == length, bytes.withUnsafeBytes({ KeystoreIndex.fingerprint($0) }) == fingerprint else { return nil }
        return try? bytes.withUnsafeBufferPointer { buffer in try KeystoreCodec.decodeRecord(buffer) }
    }

    func notFound() -> KeyCtlError {
        KeyCtlError(.keystoreNotFound, "no keystore at \(path)", hint: "create one with 'keyctl init' or 'keyctl create NAME'")
    }

    func decode(_ bytes: [UInt8], onlyDigest: [UInt8]? = nil) throws -> Keystore {
        try bytes.withUnsafeBufferPointer { try decode($0, onlyDigest: onlyDigest) }
    }

    func decode(_ bytes: UnsafeBufferPointer<UInt8>, onlyDigest: [UInt8]? = nil) throws -> Keystore {
        do {
            return try KeystoreCodec.decode(bytes, onlyDigest: onlyDigest)
        } catch {
            throw corrupt(error, in: bytes)
        }
    }

    func corrupt(_ fault: KeystoreFault, in bytes: UnsafeBufferPointer<UInt8>) -> KeyCtlError {
        var place = ""
        if let offset = fault.offset {
            let (line, column) = JSONReader.lineAndColumn(of: offset, in: bytes)
            place = " at line \(line), column \(column)"
        }
        return KeyCtlError(
            .keystoreCorrupt, "keystore \(path) is corrupt\(place): \(fault.message)",
            hint: fault.hint ?? "fix it by hand or restore a backup; keyctl will not overwrite it")
    }

    // MARK: Locked read-modify-write

    /// Runs `body` on the current keystore under the exclusive lock and writes the
    /// result if it changed. `initial` supplies a keystore when there is none (the
    /// body learns whether one existed); without it a missing keystore is KEYSTORE_NOT_FOUND.
    ///
    /// `deliver` prints the command's data on stdout, which is part of the change: it
    /// runs once the new keystore is written and flushed beside the old one, before
    /// the rename that commits it. If it returns false (a full disk, a closed pipe),
    /// the new file is thrown away instead, so nothing changed (a key nobody saw is
    /// never kept) and the call fails with IO_ERROR. Nothing to roll back, so no
    /// rollback that can fail. Notices come after, from the caller: a notice that
    /// cannot be written changes nothing.
    public func update<T>(
        initial: (() -> Keystore)? = nil,
        _ body: (inout Keystore, _ existed: Bool) throws -> T,
        deliver: ((T) -> Bool)? = nil
    ) throws -> T {
        let lock = try lockForWriting(existing: initial == nil, timeout: lockTimeout)
        defer { close(lock) }

        // Under the lock the keystore is the one checked before it, or one its owner wrote.
        guard let (fd, st) = try openForReading() else {
            guard let initial else { throw notFound() }
            return try change(initial(), old: nil, beside: besideNewKeystore(), body, deliver: deliver)
        }
        defer { close(fd) }
        // Mapped, as `load` maps it: only the owner can write the file, and keyctl
        // replaces it by rename, never truncates it. The new file's unchanged records
        // are written from the mapping, and the records kept as bytes (KeyRecords.swift)
        // are read from it for as long as anything holds them.
        let bytes = try contents(fd, size: Int(st.st_size))
        return try withExtendedLifetime(bytes) {
            let (keystore, ranges) = system.keepsRevokedAsBytes ? try decodeForChange(bytes) : try decodeWithRanges(bytes.buffer)
            return try change(keystore, old: (bytes.raw, ranges), beside: beside(st), body, deliver: deliver)
        }
    }

    /// The file's bytes, mapped (or read if it cannot be mapped), for as long as they are held.
    func contents(_ fd: Int32, size: Int) throws -> KeystoreBytes {
        guard size > 0, let map = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), map != MAP_FAILED else {
            return KeystoreBytes(copying: try readAll(fd, sizeHint: size))
        }
        return KeystoreBytes(mapping: map, count: size)
    }

    /// Checks the whole keystore as `decodeWithRanges` does (the same verdict, the same
    /// first fault) and reads it for a write: the full check builds no record
    /// (KeystoreCodec.decodeSpans, KeystoreCheck.swift), then every record whose
    /// revoked_at is set stays bytes in `file` and only the others are built
    /// (KeyRecords.reading). An older format is read the old way, every record built:
    /// its first write re-encodes it all.
    func decodeForChange(_ file: KeystoreBytes) throws -> (Keystore, [Range<Int>]) {
        let buffer = file.buffer
        let (settings, spans): (Keystore, [RecordSpan])
        do throws(KeystoreFault) {
            (settings, spans) = try KeystoreCodec.decodeSpans(buffer)
        } catch {
            throw corrupt(error, in: buffer)
        }
        guard settings.version == Keystore.currentVersion else { return try decodeWithRanges(buffer) }
        let ranges = spans.map { Int($0.offset)..<Int($0.offset + $0.length) }
        guard let keys = KeyRecords.reading(ranges, in: file) else { return try decodeWithRanges(buffer) }
        var keystore = settings
        keystore.keys = keys
        return (keystore, ranges)
    }

    /// The rest of `update`: runs `body` on `keystore` (decoded from `old`, whose
    /// records lie at `ranges`; nil when there was no keystore) and writes the change.
    func change<T>(
        _ keystore: Keystore, old: (bytes: UnsafeRawBufferPointer, ranges: [Range<Int>])?, beside: BesideFiles,
        _ body: (inout Keystore, _ existed: Bool) throws -> T, deliver: ((T) -> Bool)?
    ) throws -> T {
        let before = keystore
        var keystore = keystore
        let existed = old != nil
        let result = try body(&keystore, existed)
        let delivered = deliver.map { deliver in { deliver(result) } }
        // Which records changed, found once for the log entry and the splice.
        let changes = RecordChanges.between(before.keys, keystore.keys)
        let changed = !existed || !changes.isEmpty || !keystore.hasSameSettings(as: before)
        if changed {
            try writeAhead(&keystore, before: existed ? before : nil, changes: changes, beside: beside) { keystore in
                _ = try writeChanges(keystore, before: before, changes: changes, old: old, beside: beside, beforeCommit: delivered)
            }
            if keystore.keys.count < before.keys.count { UsageFile(beside).forget(allBut: keystore) }
        } else if let delivered, !delivered() {
            throw KeyCtlError.outputFailed
        }
        return result
    }

    /// Decodes and checks the whole keystore, and where each record's bytes lie.
    func decodeWithRanges(_ buffer: UnsafeBufferPointer<UInt8>) throws -> (Keystore, [Range<Int>]) {
        do throws(KeystoreFault) {
            return try KeystoreCodec.decodeForWrite(buffer)
        } catch {
            throw corrupt(error, in: buffer)
        }
    }

    /// Writes `keystore` if it differs from `before` (decoded from `oldBytes`) or there
    /// was no file; true if it wrote. Unchanged records keep their old bytes
    /// (KeystoreSplice.swift); only a file keyctl did not lay out is encoded whole.
    func writeChanges(
        _ keystore: Keystore, before: Keystore, changes: RecordChanges, old: (bytes: UnsafeRawBufferPointer, ranges: [Range<Int>])?,
        beside: BesideFiles, beforeCommit: (() -> Bool)?
    ) throws -> Bool {
        if let old {
            if let splice = KeystoreSplice.make(keystore, before: before, old: old.bytes, ranges: old.ranges, changes: changes) {
                guard splice.changed else { return false }
                beside.removeStaleTemporaries()
                try splice.withBuffers { try write(parts: $0, beside: beside, beforeCommit: beforeCommit) }
                return true
            }
            guard !changes.isEmpty || !keystore.hasSameSettings(as: before) else { return false }
        }
        beside.removeStaleTemporaries()
        // The first write of an older format upgrades it (FormatUpgrade.swift); a splice
        // never applies then, since the old header is not the one encode writes.
        if before.upgradedFrom != nil, let old { try keepVersion1(Array(old.bytes), beside: beside) }
        let bytes = KeystoreCodec.encode(keystore)
        try bytes.withUnsafeBytes { try write(parts: [$0], beside: beside, beforeCommit: beforeCommit) }
        return true
    }

    /// Who is changing the keystore, for the audit log.
    public var author: AuditAuthor?

    /// Commits a change the audit log's way (AuditLog.swift): the entry is on disk
    /// before the keystore that records it as the log's head. If the keystore is not
    /// replaced after all (a failed write, output that could not be delivered), the
    /// entry is taken back out.
    func writeAhead(
        _ keystore: inout Keystore, before: Keystore?, changes: RecordChanges, beside: BesideFiles, commit: (Keystore) throws -> Void
    ) throws {
        let author = self.author ?? .process(command: "keyctl")
        let log = AuditLog(beside.file(.log))
        let append = try log.prepare(head: before?.log)
        defer { append.close() }
        var entries: [AuditEntry] = []
        func entry(_ command: String, _ change: (keys: [LogKey], settings: [LogChange])) -> AuditEntry {
            AuditEntry(
                seq: 0, prev: nil, time: author.time, uid: author.uid, user: author.user, actor: author.actor, command: command,
                keys: change.keys, settings: change.settings)
        }
        var previous = before
        if let old = before, old.version < Keystore.currentVersion {
            entries.append(entry("upgrade", AuditEntry.snapshot(of: old)))
            previous?.version = Keystore.currentVersion
        }
        entries.append(entry(author.command, AuditEntry.differences(from: previous, to: keystore, changes: before == nil ? nil : changes)))
        keystore.version = Keystore.currentVersion
        keystore.log = try append.write(entries)
        let identity = fileIdentity()
        do {
            try commit(keystore)
        } catch {
            // Undone only if the rename did not happen: past it, the new keystore stands.
            if fileIdentity() == identity { append.undo() }
            throw error
        }
    }

    /// The keystore file's device and inode; a rename over it changes them.
    func fileIdentity() -> [UInt64]? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return [UInt64(st.st_dev), UInt64(st.st_ino)]
    }

    /// The keystore and its audit log, for reading (`keyctl log`).
    public func loadWithLog() throws -> (Keystore, AuditLog) {
        guard let (fd, st) = try openForReading() else { throw notFound() }
        defer { close(fd) }
        let keystore = try withContents(fd, size: Int(st.st_size)) { try decode($0) }
        return (keystore, AuditLog(beside(st).file(.log)))
    }

    /// The checks a writer passes before it makes anything beside the keystore, then
    /// the lock. `existing`: the keystore must be there (else KEYSTORE_NOT_FOUND, and no
    /// lock file is made); otherwise a missing keystore's directory is made.
    /// The keystore must belong to the user keyctl runs as: a trusted owner may be
    /// read, but its keystore is written only by itself.
    func lockForWriting(existing: Bool, timeout: Double) throws -> Int32 {
        if existing {
            if system.status(ofPath: path, follow: false) == nil && errno == ENOENT { throw notFound() }
        } else {
            try makeDirectory(directory)
        }
        try checkDirectory()
        var beside = besideNewKeystore()
        if let (fd, st) = try openForReading() {
            close(fd)
            guard st.st_uid == system.userID() else {
                throw KeyCtlError(
                    .permissionDenied, "keystore \(path) belongs to another user (uid \(st.st_uid)), who alone can change it",
                    hint: "run the command as that user")
            }
            beside = self.beside(st)
        } else if existing {
            throw notFound()
        }
        return try acquireLock(beside, timeout: timeout)
    }

    func acquireLock(_ beside: BesideFiles, timeout: Double) throws -> Int32 {
        let fd = try beside.file(.lock).openOrCreate().fd
        let deadline = system.monotonic() + timeout
        var pause = 0.002
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            guard e == EWOULDBLOCK || e == EINTR else {
                close(fd)
                throw KeyCtlError(.ioError, "cannot lock \(lockPath): \(errorText(e))")
            }
            let left = deadline - system.monotonic()
            if left <= 0 {
                close(fd)
                throw KeyCtlError(
                    .keystoreBusy, "keystore \(path) is busy: another keyctl held its lock for \(formatSeconds(timeout)) seconds",
                    hint: "try again, or raise KEYCTL_LOCK_TIMEOUT")
            }
            system.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)
        }
        return fd
    }

    // MARK: Writing

    /// Replaces the keystore atomically and durably with `bytes`. `beside`: the files
    /// beside it (whose owner and group the new file gets); by default those of the
    /// keystore there now.
    public func write(_ bytes: [UInt8], beside: BesideFiles? = nil) throws {
        let beside =
            try beside ?? openForReading().map { fd, st in
                close(fd)
                return self.beside(st)
            } ?? besideNewKeystore()
        try bytes.withUnsafeBytes { try write(parts: [$0], beside: beside) }
    }

    /// Replaces the keystore atomically and durably with `parts`, one after another.
    /// `beforeCommit` runs after the new file is flushed and before the rename; if it
    /// returns false the new file is removed and the call fails with IO_ERROR.
    func write(parts: [UnsafeRawBufferPointer], beside: BesideFiles, beforeCommit: (() -> Bool)? = nil) throws {
        let (file, made) = try beside.newTemporary()
        let temporary = file.path
        let fd = made.fd
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            for part in parts {
                var written = 0
                while written < part.count {
                    let n = Glibc.write(fd, part.baseAddress! + written, part.count - written)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw writeError("cannot write \(temporary)", errno)
                    }
                    written += n
                }
            }
            try faultInjection?("written")
            guard fsync(fd) == 0 else { throw writeError("cannot flush \(temporary) to disk", errno) }
            try faultInjection?("synced")
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw writeError("cannot close \(temporary)", errno) }
        if let beforeCommit, !beforeCommit() { throw KeyCtlError.outputFailed }
        guard rename(temporary, path) == 0 else { throw writeError("cannot replace \(path)", errno) }
        ok = true
        try faultInjection?("renamed")
        syncDirectory()
    }

    func writeError(_ what: String, _ e: Int32) -> KeyCtlError {
        let hint = e == ENOSPC || e == EDQUOT ? "free some disk space; the keystore was not changed" : "the keystore was not changed"
        return KeyCtlError(.ioError, "\(what): \(errorText(e))", hint: hint)
    }

    func syncDirectory() {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// `mkdir -p` with mode 0700 for every directory it makes.
    func makeDirectory(_ dir: String) throws {
        var st = stat()
        if stat(dir, &st) == 0 { return }
        if let slash = dir.lastIndex(of: "/"), slash != dir.startIndex {
            try makeDirectory(String(dir[..<slash]))
        }
        if mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw KeyCtlError(.ioError, "cannot create directory \(dir): \(errorText(errno))")
        }
    }
}

public func errorText(_ e: Int32) -> String {
    String(cString: strerror(e)).lowercased()
}

func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? String(Int(s)) : String(s)
}

public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
