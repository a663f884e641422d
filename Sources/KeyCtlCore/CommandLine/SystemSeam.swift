// The parts of the outside world the keystore layer depends on, in one place, so a
// test can stand in for them: who the process is, the clocks, waiting, and what the
// file system answers. `Context.system` carries one into every command; the process
// gets `SystemSeam()`, the real thing. A test changes only what it needs: pretends to
// be another user, lets time pass without sleeping, makes a file look foreign.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

public struct SystemSeam {
    /// The user the process acts as (geteuid).
    public var userID: () -> uid_t = { geteuid() }
    /// The user id of a user name, for $KEYCTL_TRUSTED_OWNER: from /etc/passwd
    /// (UserNames), never getpwnam(3), whose NSS a static binary cannot load.
    public var userNamed: (String) -> uid_t? = { name in
        UserNames.uid(named: name).flatMap { uid_t(exactly: $0) }
    }
    /// Seconds since the epoch (CLOCK_REALTIME): compared with file times by the index.
    public var realTime: () -> Double = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
    /// Seconds on a clock that never jumps (CLOCK_MONOTONIC): lock deadlines.
    public var monotonic: () -> Double = { monotonicSeconds() }
    /// Waits this many seconds (the lock's back-off).
    public var sleep: (Double) -> Void = { seconds in
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        _ = nanosleep(&ts, nil)
    }
    /// Seconds after the keystore's last change before an index of it is trusted.
    public var indexSettleTime: Double = 2
    /// Bytes `list` reads at a time (ListStream.swift); tests make it small.
    public var listWindowSize = 4 << 20
    /// A write keeps revoked records as their bytes (KeyRecords.swift); off only in
    /// the differential tests, whose reference write builds every record.
    public var keepsRevokedAsBytes = true
    /// Called at named points where a test makes something go wrong: between the steps
    /// of a keystore write ("written", "synced", "renamed"), where a throw is a failure
    /// of that step; and in `list`, after it checked the keystore and before it reads
    /// the records again to print them ("list checked", ListStream.swift), where tests
    /// edit the file in place (a throw there fails the list before any output).
    public var faultInjection: ((String) throws -> Void)?
    /// Sees (and may change) every status keyctl takes of a file it checks, keyed by
    /// path: how a test makes a file look as if another user owned it, without root.
    public var statusOverride: ((String, inout stat) -> Void)?

    public init() {}

    /// fstat(2) of `fd`, opened at `path`, as the checks see it.
    func status(of fd: Int32, path: String) -> stat? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        statusOverride?(path, &st)
        return st
    }

    /// stat(2) (or lstat(2) with `follow` false) of `path`, as the checks see it;
    /// nil with errno set when there is none.
    func status(ofPath path: String, follow: Bool = true) -> stat? {
        var st = stat()
        guard (follow ? stat(path, &st) : lstat(path, &st)) == 0 else { return nil }
        statusOverride?(path, &st)
        return st
    }
}
