// Every file keyctl keeps beside a keystore at PATH (keyctl-keystore(5)) is opened here and only
// here: PATH.lock, PATH.index, PATH.usage, PATH.log, PATH.v1, and the temporaries
// `.NAME.tmp-PID-RANDOM` that a write renames into place. What holds for each:
//
// - It is never followed through a symbolic link (O_NOFOLLOW) and never inherited by
//   a child (O_CLOEXEC).
// - After open, the descriptor (not the name, which could be swapped) is checked: a
//   regular file, owned by the keystore's owner, writable by no one else. Anything else
//   is PERMISSION_DENIED, and the caller decides: the lock and the log refuse to go on,
//   the index and the usage file go without.
// - Only the keystore's owner makes one, with mode 0600; beside a keystore shared with a
//   group (group-readable, issue 11) with mode 0640 and the keystore's group.
// - A file keyctl did not make is never deleted or overwritten: creation is O_EXCL; a
//   name is replaced (by rename) only when what is there passes these checks and the
//   caller recognises it as its own (the index by its magic); stale temporaries are
//   removed only when their name is keyctl's pattern, they are regular files of the
//   keystore's owner, and the process named in them is gone.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

/// Who the files beside a keystore belong to, and the mode they are made with.
public struct BesideOwner: Equatable {
    public var uid: uid_t
    /// The keystore's group when the keystore is shared with it (group-readable).
    public var sharedGroup: gid_t?

    public init(uid: uid_t, sharedGroup: gid_t? = nil) {
        self.uid = uid
        self.sharedGroup = sharedGroup
    }

    /// The owner of the files beside a keystore with this status.
    public init(keystore st: stat) {
        self.init(uid: st.st_uid, sharedGroup: st.st_mode & S_IRGRP != 0 ? st.st_gid : nil)
    }

    /// 0600, or 0640 beside a keystore shared with a group.
    public var mode: mode_t { sharedGroup == nil ? 0o600 : 0o640 }
}

/// One file beside the keystore.
public struct BesideFile {
    public enum Kind: String, CaseIterable {
        case lock, index, usage, log, v1

        /// How messages call it.
        var title: String {
            switch self {
            case .lock: return "lock file"
            case .index: return "index"
            case .usage: return "usage file"
            case .log: return "audit log"
            case .v1: return "version 1 copy"
            }
        }
    }

    /// An open descriptor that passed the checks. The caller closes `fd`.
    public struct Opened {
        public let fd: Int32
        public let status: stat
    }

    public let path: String
    /// How messages call it ("lock file", "temporary file", …).
    public let title: String
    public let owner: BesideOwner
    let system: SystemSeam

    /// Opens the file if there is one (nil when there is none) and checks it.
    /// PERMISSION_DENIED when it is not keyctl's to use, IO_ERROR when it cannot be opened.
    public func openExisting(writable: Bool = false) throws -> Opened? {
        let fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { return nil }
            throw openError(e)
        }
        return try checked(fd)
    }

    /// Makes the file, O_EXCL, with the owner's mode and group; nil when the name is
    /// taken (by anything: keyctl never replaces what it did not make this way).
    public func create() throws -> Opened? {
        guard system.userID() == owner.uid else {
            throw KeyCtlError(
                .permissionDenied, "cannot create \(title) \(path): only the keystore's owner (uid \(owner.uid)) makes files beside it",
                hint: "run keyctl as the keystore's owner")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, owner.mode)
        guard fd >= 0 else {
            let e = errno
            if e == EEXIST { return nil }
            throw openError(e)
        }
        var ok = false
        defer { if !ok { close(fd) } }
        if let group = owner.sharedGroup {
            var st = stat()
            if fstat(fd, &st) == 0 && st.st_gid != group && fchown(fd, uid_t.max, group) != 0 {
                let e = errno
                unlink(path)
                throw KeyCtlError(
                    .permissionDenied, "cannot give \(title) \(path) the keystore's group (gid \(group)): \(errorText(e))",
                    hint: "run keyctl as a member of that group, or as root")
            }
        }
        guard fchmod(fd, owner.mode) == 0 else {
            let e = errno
            unlink(path)
            throw openError(e)
        }
        let opened = try checked(fd)
        ok = true
        return opened
    }

    /// Opens the file, making it first when there is none.
    public func openOrCreate() throws -> Opened {
        for _ in 0..<8 {
            if let made = try create() { return made }
            if let there = try openExisting(writable: true) { return there }
            // Removed between the two calls: try again.
        }
        throw KeyCtlError(.ioError, "cannot open \(title) \(path): it keeps appearing and disappearing")
    }

    /// The checks on an open descriptor; closes it when they fail.
    func checked(_ fd: Int32) throws -> Opened {
        guard let st = system.status(of: fd, path: path) else {
            let e = errno
            close(fd)
            throw KeyCtlError(.ioError, "cannot stat \(title) \(path): \(errorText(e))")
        }
        if let refusal = refusal(st) {
            close(fd)
            throw refusal
        }
        return Opened(fd: fd, status: st)
    }

    /// Why a file with this status is not keyctl's to use, or nil.
    func refusal(_ st: stat) -> KeyCtlError? {
        if st.st_mode & S_IFMT != S_IFREG {
            return KeyCtlError(
                .permissionDenied, "\(title) \(path) is not a regular file, so keyctl will not use it",
                hint: "move it out of the way; keyctl makes its own")
        }
        if st.st_uid != owner.uid {
            return KeyCtlError(
                .permissionDenied,
                "\(title) \(path) belongs to another user (uid \(st.st_uid)), not the keystore's owner (uid \(owner.uid)), so keyctl will not use it",
                hint: "it may have been planted: look at it, then have it removed (rm \(ShellQuoting.quote(path))), "
                    + "or keep the keystore in a directory of your own")
        }
        if st.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            return KeyCtlError(
                .permissionDenied, "\(title) \(path) is writable by group or others, so keyctl will not use it",
                hint: "remove it (keyctl makes its own) or run: chmod \(String(owner.mode, radix: 8)) \(ShellQuoting.quote(path))")
        }
        return nil
    }

    func openError(_ e: Int32) -> KeyCtlError {
        switch e {
        case ELOOP:
            return KeyCtlError(
                .permissionDenied, "\(title) \(path) is a symbolic link, which keyctl does not follow",
                hint: "remove it; keyctl makes its own")
        case EISDIR, ENXIO:
            return KeyCtlError(
                .permissionDenied, "\(title) \(path) is not a regular file, so keyctl will not use it",
                hint: "move it out of the way; keyctl makes its own")
        case EACCES, EPERM:
            return KeyCtlError(
                .permissionDenied, "cannot open \(title) \(path): \(errorText(e))", hint: "check the owner and mode of it and of its directory")
        default:
            return KeyCtlError(.ioError, "cannot open \(title) \(path): \(errorText(e))")
        }
    }
}

/// The files beside one keystore, all checked against one owner.
public struct BesideFiles {
    public let keystorePath: String
    public let owner: BesideOwner
    let system: SystemSeam

    public init(keystorePath: String, owner: BesideOwner, system: SystemSeam) {
        self.keystorePath = keystorePath
        self.owner = owner
        self.system = system
    }

    public func file(_ kind: BesideFile.Kind) -> BesideFile {
        BesideFile(path: keystorePath + "." + kind.rawValue, title: kind.title, owner: owner, system: system)
    }

    var directory: String {
        guard let slash = keystorePath.lastIndex(of: "/") else { return "." }
        let dir = String(keystorePath[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    var directoryPrefix: String {
        guard let slash = keystorePath.lastIndex(of: "/") else { return "" }
        return String(keystorePath[...slash])
    }

    var baseName: String {
        guard let slash = keystorePath.lastIndex(of: "/") else { return keystorePath }
        return String(keystorePath[keystorePath.index(after: slash)...])
    }

    /// Temporary names begin with this: `.NAME.tmp-`.
    var temporaryPrefix: String { "." + baseName + ".tmp-" }

    /// A new temporary file `.NAME.tmp-PID-RANDOM`, made O_EXCL with the owner's mode:
    /// the caller writes it and renames it over the file it replaces, or unlinks it.
    public func newTemporary() throws -> (BesideFile, BesideFile.Opened) {
        for _ in 0..<8 {
            let name = temporaryPrefix + String(getpid()) + "-" + Hex.encode(systemRandomBytes(8))
            let file = BesideFile(path: directoryPrefix + name, title: "temporary file", owner: owner, system: system)
            if let made = try file.create() { return (file, made) }
        }
        throw KeyCtlError(.ioError, "cannot create a temporary file beside \(keystorePath): every name tried was taken")
    }

    /// Whether `name` (in the keystore's directory) is a temporary keyctl makes, and
    /// the process id it names (nil for keyctl 1.0's `.NAME.tmp-RANDOM`).
    func temporaryName(_ name: String) -> (isOurs: Bool, pid: pid_t?) {
        guard name.hasPrefix(temporaryPrefix) else { return (false, nil) }
        let rest = name.utf8.dropFirst(temporaryPrefix.utf8.count)
        func isRandom<S: Collection>(_ s: S) -> Bool where S.Element == UInt8 {
            s.count == 16 && s.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        if isRandom(rest) { return (true, nil) }
        guard let dash = rest.firstIndex(of: 0x2d), isRandom(rest[rest.index(after: dash)...]),
            let pid = pid_t(String(decoding: rest[..<dash], as: UTF8.self)), pid > 0
        else { return (false, nil) }
        return (true, pid)
    }

    /// Removes the temporaries that writers which died before their rename left
    /// behind. Call it holding the lock. Leaves alone every file keyctl did not make:
    /// another name, another owner, not a regular file (a symbolic link is never
    /// keyctl's), or one whose process is still running (an index being written).
    public func removeStaleTemporaries() {
        guard let dir = opendir(directory) else { return }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasPrefix(temporaryPrefix) { names.append(name) }
        }
        closedir(dir)
        for name in names {
            let (isOurs, pid) = temporaryName(name)
            guard isOurs else { continue }
            if let pid, pid == getpid() || kill(pid, 0) == 0 || errno == EPERM { continue }
            let path = directoryPrefix + name
            guard let st = system.status(ofPath: path, follow: false), st.st_mode & S_IFMT == S_IFREG, st.st_uid == owner.uid else {
                continue
            }
            unlink(path)
        }
    }
}
