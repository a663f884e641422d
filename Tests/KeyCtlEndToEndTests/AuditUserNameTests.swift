// Issue 12: the audit log's "who" in the installed binary. The release binary is
// static, and getpwuid/getpwnam would go through NSS (dlopen of the build machine's
// glibc); keyctl reads /etc/passwd itself. Run against $KEYCTL_BIN (in CI: the static
// release build), so this checks the binary users install, not only the debug build.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Audit log: user names in the installed binary", .serialized)
struct AuditUserNameTests {
    /// The name /etc/passwd gives `uid`, read by the test on its own (not keyctl's parser).
    static func passwdName(of uid: uid_t) -> String? {
        let text = (try? String(contentsOfFile: "/etc/passwd", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count >= 3, fields[2] == "\(uid)", !fields[0].hasPrefix("#") { return String(fields[0]) }
        }
        return nil
    }

    static func lastEntry(_ box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let r = box.keyctl(["log", "--json"])
        #expect(r.status == 0, "\(r.stderr)", sourceLocation: sourceLocation)
        let entries = try #require(parseJSON(r.stdout) as? [[String: Any]], sourceLocation: sourceLocation)
        return try #require(entries.last, sourceLocation: sourceLocation)
    }

    /// The entry names the user as /etc/passwd does, with the effective uid; `log`
    /// shows `NAME (uid N)`; KEYCTL_ACTOR rides along.
    @Test func theLogNamesTheCurrentUserFromThePasswdFile() throws {
        let uid = geteuid()
        let name = try #require(Self.passwdName(of: uid), "the test's user (uid \(uid)) is not in /etc/passwd")
        let box = Sandbox()
        #expect(box.keyctl(["create", "ci"], environment: ["KEYCTL_ACTOR": "job-7"]).status == 0)
        let entry = try Self.lastEntry(box)
        #expect(entry["user"] as? String == name, "\(entry)")
        #expect((entry["uid"] as? NSNumber)?.intValue == Int(uid))
        #expect(entry["actor"] as? String == "job-7")
        let human = box.keyctl(["log"])
        #expect(human.stdout.contains("\t\(name) (uid \(uid)) as job-7\tcreate\t"), "\(human.stdout)")
    }

    /// KEYCTL_TRUSTED_OWNER by name is read from /etc/passwd too (no getpwnam): a
    /// known name works, an unknown one is a usage error that says to give the uid.
    @Test func trustedOwnerByNameComesFromThePasswdFile() throws {
        let uid = geteuid()
        let name = try #require(Self.passwdName(of: uid))
        let box = Sandbox()
        #expect(box.keyctl(["create", "ci"]).status == 0)
        let known = box.keyctl(["list"], environment: ["KEYCTL_TRUSTED_OWNER": name])
        #expect(known.status == 0, "\(known.stderr)")
        let unknown = box.keyctl(["list"], environment: ["KEYCTL_TRUSTED_OWNER": "no-such-user-\(getpid())"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("names no user in /etc/passwd") && unknown.stderr.contains("numeric uid"), "\(unknown.stderr)")
        #expect(unknown.stderr.split(separator: "\n").count == 1)
    }

    /// A uid with no line in /etc/passwd (a user of LDAP or sssd, say): the entry holds
    /// the uid and a null user, and `log` shows the uid with a note. Needs root to run
    /// keyctl as such a uid (setpriv); the in-process tests cover the rest unprivileged.
    @Test(.enabled(if: geteuid() == 0, "running keyctl as a uid /etc/passwd lacks needs root"))
    func aUidWithoutANameIsLoggedByNumberWithANote() throws {
        var stranger: uid_t = 54321
        while Self.passwdName(of: stranger) != nil { stranger += 1 }
        let box = Sandbox()
        #expect(chown(box.path, stranger, stranger) == 0)
        let setpriv = try #require(["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }, "setpriv")
        func asStranger(_ arguments: [String]) -> Run {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: setpriv)
            p.arguments = ["--reuid=\(stranger)", "--regid=\(stranger)", "--clear-groups", "--", Binary.path, "--keystore", box.keystore] + arguments
            p.environment = ["PATH": "/usr/bin:/bin", "HOME": box.path]
            return runProcess(p)
        }
        let made = asStranger(["create", "ldap-user-key"])
        #expect(made.status == 0, "\(made.stderr)")
        let r = asStranger(["log", "--json"])
        let entry = try #require((parseJSON(r.stdout) as? [[String: Any]])?.last, "\(r.stdout) \(r.stderr)")
        #expect(entry["user"] is NSNull, "\(entry)")
        #expect((entry["uid"] as? NSNumber)?.intValue == Int(stranger))
        let human = asStranger(["log"])
        #expect(human.status == 0)
        #expect(human.stdout.contains("\tuid \(stranger) (no name in /etc/passwd)\tcreate\t"), "\(human.stdout)")
        #expect(asStranger(["log", "--verify"]).status == 0)
    }
}
