// The files beside the keystore (keyctl-keystore(5), issue 8 item 2): a lock, index or temporary
// that is not keyctl's is never used, deleted or overwritten, whoever runs the tests.
// Another user's file is made by the seam (SystemSeam.statusOverride), so these run
// the same as root and as an unprivileged user; .ci/steps/55-attacker.sh repeats the
// attack with real users against the release binary.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct BesideFileTests {
    /// A private directory with a keystore path, and keyctl runs in-process against it.
    final class Place {
        let dir: String
        var keystore: String { dir + "/ks.json" }
        var system = SystemSeam()

        init() {
            var template = Array((NSTemporaryDirectory() + "/keyctl-beside-XXXXXX").utf8CString)
            dir = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
            system.indexSettleTime = 0
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        /// Runs keyctl; status, stdout, stderr.
        @discardableResult
        func run(_ arguments: [String], keystore: String? = nil, stdin: String? = nil) -> (status: Int32, stdout: String, stderr: String) {
            let output = CapturedOutput()
            let env = ["KEYCTL_KEYSTORE": keystore ?? self.keystore, "HOME": dir]
            var context = output.context(
                environment: { env[$0] }, now: { 1_800_000_000 }, randomBytes: systemRandomBytes, readLine: { stdin })
            context.system = system
            let status = KeyCtl.run(arguments, context: context)
            return (status, output.stdoutText, output.stderrText)
        }

        func bytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { [UInt8]($0) } }

        func mode(_ path: String) -> mode_t {
            var st = stat()
            return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
        }

        /// Makes `path` look as if another user owned it.
        func pretendForeign(_ path: String) {
            system.statusOverride = { seen, st in if seen == path { st.st_uid = st.st_uid == 4242 ? 4243 : 4242 } }
        }

        func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }
    }

    /// A key made in `place`'s keystore.
    func key(_ place: Place, _ name: String) throws -> String {
        let r = place.run(["create", name])
        try #require(r.status == 0, "\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every writer refuses with exit 77 and one line naming the lock file; the keystore
    /// and the planted file keep their bytes and mode.
    func expectLockRefused(_ place: Place, mentions: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let keystore = place.bytes(place.keystore)
        let lock = place.bytes(place.keystore + ".lock")
        let mode = place.mode(place.keystore + ".lock")
        for argv in [["create", "x"], ["revoke", "a"], ["rotate", "a"]] {
            let r = place.run(argv)
            #expect(r.status == 77, "\(argv): \(r.stderr)", sourceLocation: sourceLocation)
            #expect(r.stderr.contains(mentions) && r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        }
        #expect(place.bytes(place.keystore) == keystore, sourceLocation: sourceLocation)
        #expect(place.bytes(place.keystore + ".lock") == lock, sourceLocation: sourceLocation)
        #expect(place.mode(place.keystore + ".lock") == mode, sourceLocation: sourceLocation)
    }

    @Test func aLockOthersCanWriteIsRefusedAndLeftAlone() throws {
        let place = Place()
        _ = try key(place, "a")
        chmod(place.keystore + ".lock", 0o666)
        try Data("planted".utf8).write(to: URL(fileURLWithPath: place.keystore + ".lock"))
        expectLockRefused(place, mentions: "lock file \(place.keystore).lock is writable by group or others")
    }

    @Test func anotherUsersLockIsRefused() throws {
        let place = Place()
        _ = try key(place, "a")
        place.pretendForeign(place.keystore + ".lock")
        expectLockRefused(place, mentions: "belongs to another user")
    }

    @Test func aLinkedOrSpecialLockIsRefused() throws {
        let place = Place()
        _ = try key(place, "a")
        let lock = place.keystore + ".lock"
        unlink(lock)
        symlink(place.dir + "/elsewhere", lock)
        expectLockRefused(place, mentions: "symbolic link")
        #expect(!FileManager.default.fileExists(atPath: place.dir + "/elsewhere"))
        unlink(lock)
        mkfifo(lock, 0o600)
        expectLockRefused(place, mentions: "not a regular file")
    }

    /// 1.0 replaced a keystore called `ks.json.index` with `ks.json`'s binary index.
    @Test func aKeystoreNamedLikeAnIndexIsNeverReplaced() throws {
        let place = Place()
        let other = place.keystore + ".index"
        let otherKey = try key(place, "other")
        #expect(rename(place.keystore, other) == 0)
        unlink(place.keystore + ".lock")
        let before = place.bytes(other)
        let mine = try key(place, "mine")
        for _ in 0..<3 {
            #expect(place.run(["verify"], stdin: mine).status == 0)
            #expect(place.run(["verify"], stdin: otherKey).status == 1)
        }
        #expect(place.bytes(other) == before, "the keystore named like an index was overwritten")
        #expect(place.run(["verify"], keystore: other, stdin: otherKey).status == 0)
    }

    /// An index keyctl may not trust is gone without, and not replaced.
    @Test func aForeignIndexIsGoneWithoutAndLeftAlone() throws {
        let place = Place()
        let k = try key(place, "a")
        #expect(place.run(["verify"], stdin: k).status == 0)
        let index = place.keystore + ".index"
        #expect(FileManager.default.fileExists(atPath: index), "\(place.names())")
        // A lie: an index with the right magic that says "no such key", owned by someone else.
        place.pretendForeign(index)
        let planted = place.bytes(index)
        #expect(place.run(["verify"], stdin: k).status == 0)
        #expect(place.bytes(index) == planted)
        place.system.statusOverride = nil
        chmod(index, 0o622)
        #expect(place.run(["verify"], stdin: k).status == 0)
        #expect(place.mode(index) == 0o622 && place.bytes(index) == planted)
    }

    /// A stale temporary of another user is not keyctl's, whatever its name.
    @Test func anotherUsersTemporaryIsNotRemoved() throws {
        let place = Place()
        _ = try key(place, "a")
        let planted = place.dir + "/.ks.json.tmp-0000000000000000"
        try Data("x".utf8).write(to: URL(fileURLWithPath: planted))
        place.pretendForeign(planted)
        _ = try key(place, "b")
        #expect(FileManager.default.fileExists(atPath: planted))
        place.system.statusOverride = nil
        _ = try key(place, "c")
        #expect(!FileManager.default.fileExists(atPath: planted), "keyctl's own leftover was not removed")
    }

    @Test func temporaryNamesThatAreKeyctls() {
        let files = BesideFiles(keystorePath: "/d/ks.json", owner: BesideOwner(uid: 0), system: SystemSeam())
        #expect(files.temporaryName(".ks.json.tmp-0123456789abcdef") == (true, nil))
        #expect(files.temporaryName(".ks.json.tmp-77-0123456789abcdef") == (true, 77))
        for name in [
            ".ks.json.tmp-prod", ".ks.json.tmp-", ".ks.json.tmp-0123456789ABCDEF", ".ks.json.tmp-x-0123456789abcdef",
            ".ks.json.tmp-0-0123456789abcdef", ".ks.json.tmp-0123456789abcdef0", ".other.tmp-0123456789abcdef",
        ] {
            #expect(files.temporaryName(name).isOurs == false, "\(name)")
        }
    }

    /// A keystore shared with a group (0640) keeps its group and mode through every
    /// rewrite, and the files keyctl makes beside it get the same (issue 11).
    @Test func aSharedKeystoreKeepsItsGroupReadBit() throws {
        let place = Place()
        let k = try key(place, "a")
        chmod(place.keystore, 0o640)
        unlink(place.keystore + ".lock")
        var before = stat()
        stat(place.keystore, &before)
        _ = try key(place, "b")
        #expect(place.run(["verify"], stdin: k).status == 0)
        for path in [place.keystore, place.keystore + ".lock", place.keystore + ".index"] {
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o640 && st.st_gid == before.st_gid, "\(path) \(place.names())")
        }
        chmod(place.keystore, 0o600)
        _ = try key(place, "c")
        #expect(place.mode(place.keystore) == 0o600)
    }
}
