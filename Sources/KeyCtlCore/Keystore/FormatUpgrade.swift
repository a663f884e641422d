// The upgrade of an older keystore format. keyctl 2 reads a version 1 keystore
// (keyctl 1.0's) as it is and writes version 2 on the first change; before that
// write, the version 1 file is kept byte for byte as PATH.v1, so going back to
// keyctl 1.0 is a copy away. keyctl never overwrites a PATH.v1: one that already
// holds exactly these bytes (an upgrade that did not finish, or whose output could
// not be delivered and was undone) is kept as it is; any other is refused.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

extension KeystoreFile {
    /// Where the version 1 file is kept when keyctl upgrades it.
    public var version1Path: String { path + ".v1" }

    /// Keeps `bytes` (the keystore as read, format version 1) as PATH.v1, durably,
    /// before the write that upgrades it. Called under the lock.
    func keepVersion1(_ bytes: [UInt8], beside: BesideFiles) throws {
        let file = beside.file(.v1)
        for _ in 0..<8 {
            if let made = try file.create() {
                try writeKept(bytes, to: made.fd, path: file.path)
                return
            }
            // The name is taken: fine only if it is ours and holds exactly these bytes.
            if let there = try file.openExisting() {
                defer { close(there.fd) }
                guard Int(there.status.st_size) == bytes.count, (try? readAll(there.fd, sizeHint: bytes.count)) == bytes else {
                    throw KeyCtlError(
                        .ioError,
                        "\(file.path) already exists with other contents, and keyctl keeps the version 1 keystore there before upgrading it",
                        hint: "move \(file.path) away and run the command again; the keystore was not changed")
                }
                return
            }
        }
        throw KeyCtlError(.ioError, "cannot keep the version 1 keystore as \(file.path): it keeps appearing and disappearing")
    }

    /// Writes and flushes the copy into the file just made; removes it on failure.
    private func writeKept(_ bytes: [UInt8], to fd: Int32, path: String) throws {
        var ok = false
        defer {
            if !ok {
                close(fd)
                unlink(path)
            }
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw writeError("cannot write \(path)", errno)
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw writeError("cannot flush \(path) to disk", errno) }
        ok = true
        guard close(fd) == 0 else { throw writeError("cannot close \(path)", errno) }
    }
}
