// User names and uids, read from /etc/passwd by keyctl itself: the one place keyctl
// looks up a user. The static release binary cannot use getpwuid(3) or getpwnam(3):
// they go through NSS, whose modules glibc loads with dlopen and which need the build
// machine's glibc at run time. Users known only to NSS (LDAP, sssd, systemd-homed) are
// not found here: the audit log shows their uid with a note, and $KEYCTL_TRUSTED_OWNER
// takes their numeric uid.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

public enum UserNames {
    /// Where the names come from, as messages name it.
    public static let source = "/etc/passwd"

    /// The name of `uid`, or nil when the passwd file has none (or cannot be read).
    public static func name(of uid: Int64, passwd: String = source) -> String? {
        name(of: uid, inPasswd: read(passwd))
    }

    /// The uid of the user called `name`, or nil when the passwd file has none.
    public static func uid(named name: String, passwd: String = source) -> Int64? {
        uid(named: name, inPasswd: read(passwd))
    }

    static func name(of uid: Int64, inPasswd bytes: [UInt8]) -> String? {
        users(inPasswd: bytes).first { $0.uid == uid }?.name
    }

    static func uid(named name: String, inPasswd bytes: [UInt8]) -> Int64? {
        users(inPasswd: bytes).first { $0.name == name }?.uid
    }

    /// `name:password:uid:gid:gecos:home:shell`, one a line, in file order (the first
    /// line with a uid or name wins, as for getpw*). Comments, lines with too few fields
    /// or no number for a uid, and names with control characters are left out.
    static func users(inPasswd bytes: [UInt8]) -> [(name: String, uid: Int64)] {
        var out: [(name: String, uid: Int64)] = []
        for line in bytes.split(separator: 0x0a) {
            let fields = line.split(separator: UInt8(ascii: ":"), maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3, !fields[0].isEmpty, fields[0].first != UInt8(ascii: "#"),
                let id = Int64(String(decoding: fields[2], as: UTF8.self))
            else { continue }
            let name = String(decoding: fields[0], as: UTF8.self)
            guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { continue }
            out.append((name, id))
        }
        return out
    }

    /// The file's bytes (at most 16 MiB); empty when it cannot be read.
    static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 16 << 20 {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        return bytes
    }
}
