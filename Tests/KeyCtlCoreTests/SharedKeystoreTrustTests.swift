// The trust rule for a keystore shared with a service (issue 11): every refusal says
// the command that fixes it, quoted so that it pastes (and these tests paste it into
// /bin/sh), and a reader of another user's keystore checks every directory above it.
// Other users are made by the seam (SystemSeam.userID, statusOverride), so these run
// unchanged as root and as an unprivileged user: the process pretends to be user 4242
// (which owns whatever the real user owns) reading a keystore of user 4244.

import Foundation
import Testing

@testable import KeyCtlCore

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct SharedKeystoreTrustTests {
    static let reader: uid_t = 4242
    static let operatorID: uid_t = 4244

    /// The command after "run: " in a refusal, run by /bin/sh; its exit status.
    static func paste(_ line: String) throws -> Int32 {
        let marker = try #require(line.range(of: "run: "), "no command to run in: \(line)")
        let command = String(line[marker.upperBound...])
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", command]
        try sh.run()
        sh.waitUntilExit()
        return sh.terminationStatus
    }

    static func realPath(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    /// The process is the reader; the keystore (and its directory) the operator's,
    /// trusted through KEYCTL_TRUSTED_OWNER; `adjust` changes what a directory's
    /// status looks like, by its resolved path.
    static func shareWithReader(_ w: World, adjust: @escaping (String, inout stat) -> Void = { _, _ in }) {
        let keystore = realPath(w.keystore)
        let directory = realPath((w.keystore as NSString).deletingLastPathComponent)
        let me = geteuid()
        w.system.userID = { reader }
        w.system.statusOverride = { path, st in
            let real = realPath(path)
            if real == keystore || real == directory {
                st.st_uid = operatorID
            } else if st.st_uid == me {
                st.st_uid = reader
            }
            adjust(real, &st)
        }
        w.environment["KEYCTL_TRUSTED_OWNER"] = String(operatorID)
    }

    /// A keystore at a path with a space and a quote: every fix is quoted, and pasting
    /// it into a shell is what makes keyctl accept the keystore again.
    @Test func everyRefusalSaysTheFixAndTheFixPastes() throws {
        let w = World()
        let dir = w.directory + "/the operator's keys"
        w.keystore = dir + "/keystore.json"
        let a = try w.create("a")
        let quotedFile = ShellQuoting.quote(w.keystore)
        let quotedDir = ShellQuoting.quote(dir)
        #expect(quotedFile.hasPrefix("'"), "the path needs quoting: \(quotedFile)")

        // A shared keystore made group-writable: the fix keeps the group's read bit.
        chmod(w.keystore, 0o660)
        var (line, _) = w.expectFailure(["list"], .permissionDenied)
        #expect(line.contains("run: chmod 640 \(quotedFile)"), "\(line)")
        #expect(try Self.paste(line) == 0)
        #expect(mode(w.keystore) == 0o640)
        #expect(w.verify(a.key) == 0)

        // Its directory made group-writable: the fix keeps the group's search bit.
        chmod(dir, 0o770)
        (line, _) = w.expectFailure(["verify"], .permissionDenied, stdin: a.key)
        #expect(line.contains("run: chmod 750 \(quotedDir)"), "\(line)")
        #expect(try Self.paste(line) == 0)
        #expect(w.verify(a.key) == 0)

        // A file beside it (the lock) made group-writable: the fix is its mode, quoted.
        chmod(w.keystore + ".lock", 0o660)
        (line, _) = w.expectFailure(["create", "b"], .permissionDenied)
        #expect(line.contains("run: chmod 640 \(ShellQuoting.quote(w.keystore + ".lock"))"), "\(line)")
        #expect(try Self.paste(line) == 0)
        try w.create("b")
    }

    /// An owner keyctl does not trust: the message names the variable that trusts it,
    /// with the owner's number, and setting exactly that makes the reader accept it.
    @Test func anUntrustedOwnerIsToldHowToTrustIt() throws {
        let w = World()
        let a = try w.create("a")
        Self.shareWithReader(w)
        w.environment["KEYCTL_TRUSTED_OWNER"] = nil
        let before = w.bytes()
        let (line, _) = w.expectFailure(["verify"], .permissionDenied, stdin: a.key)
        #expect(line.contains("belongs to another user (uid 4244)"), "\(line)")
        #expect(line.contains("KEYCTL_TRUSTED_OWNER=4244"), "\(line)")
        w.environment["KEYCTL_TRUSTED_OWNER"] = "4244"
        #expect(w.verify(a.key) == 0)
        #expect(w.bytes() == before)
    }

    /// A directory above the shared keystore that others can write (and so rename the
    /// keystore's directory away and put their own in its place) is refused, with the
    /// chmod for that directory; a sticky one (like /tmp) is not.
    @Test func aDirectoryAboveASharedKeystoreThatOthersCanWriteIsRefused() throws {
        let w = World()
        let above = Self.realPath(w.directory)
        w.keystore = w.directory + "/srv/keyctl/keystore.json"
        let a = try w.create("a")
        var extraMode: mode_t = 0
        Self.shareWithReader(w) { path, st in if path == above { st.st_mode |= extraMode } }
        #expect(w.verify(a.key) == 0, "a safe path is accepted")

        extraMode = S_IWGRP
        let (line, _) = w.expectFailure(["verify"], .permissionDenied, stdin: a.key)
        #expect(line.contains("directory \(above) above keystore"), "\(line)")
        #expect(line.contains("run: chmod 700 \(above)"), "the fix for that directory (made 0700, seen 0720): \(line)")
        w.expectFailure(["list"], .permissionDenied)
        w.expectFailure(["show", "a"], .permissionDenied)

        extraMode = S_IWOTH | S_ISVTX
        #expect(w.verify(a.key) == 0, "a sticky directory lets no one rename what is not theirs")

        // The keystore's owner reading its own keystore is not asked this (keyctl 1.0's rule).
        w.system = SystemSeam()
        w.system.statusOverride = { path, st in if Self.realPath(path) == above { st.st_mode |= S_IWGRP } }
        w.environment["KEYCTL_TRUSTED_OWNER"] = nil
        #expect(w.verify(a.key) == 0)
    }

    /// A directory above it that belongs to an untrusted user is refused too.
    @Test func aDirectoryAboveASharedKeystoreOwnedByAStrangerIsRefused() throws {
        let w = World()
        let above = Self.realPath(w.directory)
        w.keystore = w.directory + "/srv/keystore.json"
        let a = try w.create("a")
        Self.shareWithReader(w) { path, st in if path == above { st.st_uid = 4245 } }
        let (line, _) = w.expectFailure(["verify"], .permissionDenied, stdin: a.key)
        #expect(line.contains("directory \(above) above keystore"), "\(line)")
        #expect(line.contains("uid 4245"), "\(line)")
    }

    /// Through a symbolic link, the directories above the resolved path count as well
    /// as those of the path as written.
    @Test func theResolvedPathIsCheckedToo() throws {
        let w = World()
        let elsewhere = w.directory + "/elsewhere"
        #expect(mkdir(elsewhere, 0o700) == 0)
        w.keystore = elsewhere + "/keys/keystore.json"
        let a = try w.create("a")
        #expect(symlink(elsewhere + "/keys", w.directory + "/link") == 0)
        w.keystore = w.directory + "/link/keystore.json"
        let resolvedAbove = Self.realPath(elsewhere)
        var extraMode: mode_t = 0
        Self.shareWithReader(w) { path, st in if path == resolvedAbove { st.st_mode |= extraMode } }
        #expect(w.verify(a.key) == 0)
        extraMode = S_IWOTH
        let (line, _) = w.expectFailure(["verify"], .permissionDenied, stdin: a.key)
        #expect(line.contains("directory \(resolvedAbove) above keystore"), "\(line)")
    }

    /// Usage stamps are best effort (keyctl(1) KEYSTORE, README): a reader that may not write
    /// beside the operator's keystore still gets its answer, exit 0, with nothing
    /// written and nothing said.
    @Test func aReaderThatCannotStampStillAnswersQuietly() throws {
        let w = World()
        let a = try w.create("a")
        Self.shareWithReader(w)
        let before = w.files()
        let keystore = w.bytes()
        for argv in [["verify"], ["verify", "--json"]] {
            let r = w.run(argv, stdin: a.key)
            #expect(r.status == 0, "\(argv): \(r.stderr)")
            #expect(r.stderr.isEmpty, "\(argv): no note for a stamp not written: \(r.stderr)")
            if argv.count > 1 { #expect(r.stdout.contains("\"valid\":true"), "\(r.stdout)") }
        }
        #expect(w.files() == before, "the reader made no file")
        #expect(w.bytes() == keystore)
    }

    /// An unreadable keystore of another user says how its owner shares it (chmod, or
    /// chgrp to one of the reader's groups, by number, as the owner would type it). The refusal itself
    /// needs a real reader, not root: .ci/steps/60-shared-keystore.sh.
    @Test func anUnreadableKeystoreSaysHowToShareIt() throws {
        let w = World()
        w.keystore = w.directory + "/the keys/keystore.json"
        try w.create("a")
        Self.shareWithReader(w)
        var file = KeystoreFile(path: w.keystore)
        file.system = w.system
        let q = ShellQuoting.quote(w.keystore)
        var st = stat()
        #expect(stat(w.keystore, &st) == 0)
        // The keystore's group is one the process is in (it made the file): the mode is all.
        #expect(file.accessHint() == "its owner can let its group (gid \(st.st_gid)) in: chmod g+r \(q)")
        // Another group: share it with one of the reader's.
        file.system.statusOverride = { path, st in
            st.st_uid = 4244; st.st_gid = 4246
        }
        let groups = KeystoreFile.processGroups().map { String($0) }.joined(separator: ", ")
        #expect(file.accessHint() == "its owner can share it with a group you are in (gid \(groups)): chgrp GID \(q) && chmod g+r \(q)")
    }

    /// The completion helper reads through the one keystore reader: a keystore the
    /// trust rule refuses (planted by another user, writable by others, above a
    /// directory others can write) lists nothing, silently; a FIFO in the keystore's
    /// place is answered at once, never waited on. The trusted one lists its keys.
    @Test func completionListsNothingFromAnUntrustedKeystoreAndNeverHangs() throws {
        func complete(_ w: World) -> Output {
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) let world = w
            nonisolated(unsafe) var result: Output?
            Thread.detachNewThread {
                result = world.run(["__complete-keys"])
                done.signal()
            }
            guard done.wait(timeout: .now() + 20) == .success, let result else {
                Issue.record("the completion helper did not answer within 20 seconds")
                return Output(status: -1, stdout: "", stderr: "")
            }
            return result
        }
        let w = World()
        try w.create("alpha")
        #expect(complete(w).stdout == "alpha\n")

        // Planted by a user this process does not trust.
        let keystore = w.keystore
        w.system.statusOverride = { path, st in if path == keystore { st.st_uid = 4245 } }
        var r = complete(w)
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
        w.system = SystemSeam()

        // Writable by others.
        chmod(w.keystore, 0o666)
        r = complete(w)
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
        chmod(w.keystore, 0o600)

        // A shared keystore under a directory others can write.
        let above = Self.realPath(w.directory + "/..")
        Self.shareWithReader(w) { path, st in if path == above { st.st_mode = (st.st_mode & ~S_ISVTX) | S_IWOTH } }
        r = complete(w)
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
        Self.shareWithReader(w)
        #expect(complete(w).stdout == "alpha\n", "the same keystore, trusted, is listed")
        w.system = SystemSeam()
        w.environment["KEYCTL_TRUSTED_OWNER"] = nil

        // A FIFO where the keystore should be: no reader ever opens its other end.
        let fifo = World()
        #expect(mkfifo(fifo.keystore, 0o600) == 0)
        r = complete(fifo)
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
    }
}
