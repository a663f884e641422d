// Issue 8 item 8: stdout data is part of the change. A command whose data cannot be
// written fails with IO_ERROR and leaves the keystore (or its absence) as it was,
// because the data is written before the rename that commits the change.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct FailureAfterChangeTests {
    /// Every writing command, with its data going to a stdout that fails.
    @Test(arguments: [
        ["--json", "create", "new"], ["create", "new"], ["create", "new", "--format", "bearer"],
        ["--json", "revoke", "a"], ["--json", "rotate", "a"], ["rotate", "a"], ["rotate", "a", "--grace", "1h"],
        ["--json", "rotate", "--expiring-within", "60d"], ["rotate", "--expiring-within", "60d"],
    ])
    func writerWithFailingStdoutChangesNothing(arguments: [String]) throws {
        let world = World()
        try world.create("a", ["--expires-in", "30d"])
        try world.create("b")
        let before = try #require(world.bytes())
        world.stdoutWorks = false
        let r = world.run(arguments)
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.contains("standard output"), "\(r.stderr)")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "one line: \(r.stderr)")
        #expect(!r.stderr.contains("created") && !r.stderr.contains("rotated") && !r.stderr.contains("revoked key_"), "\(r.stderr)")
        #expect(world.bytes() == before, "\(arguments) changed the keystore")
        #expect(world.files().filter { $0.hasPrefix(".keystore.json.tmp") }.isEmpty)
    }

    /// `keyctl --json init >/dev/full` made the keystore in 1.0 and then failed.
    @Test func initWithFailingStdoutMakesNoKeystore() {
        let world = World()
        world.stdoutWorks = false
        let r = world.run(["--json", "init"])
        #expect(r.status == 74, "\(r.stderr)")
        #expect(world.bytes() == nil, "a keystore was left")
        // Without --json, init prints only a notice: no data, so it succeeds.
        let plain = world.run(["init"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(world.bytes() != nil)
    }

    /// A command that changes nothing (revoking a revoked key) fails the same way.
    @Test func unchangedKeystoreStillReportsTheFailedOutput() throws {
        let world = World()
        try world.create("a")
        let b = try world.create("b")
        #expect(world.run(["revoke", b.id]).status == 0)
        let before = world.bytes()
        world.stdoutWorks = false
        let r = world.run(["--json", "revoke", b.id])
        #expect(r.status == 74)
        #expect(world.bytes() == before)
    }

    /// The data is written before the rename: when the rename's commit step fails
    /// afterwards, the keystore is the old one, and the message does not claim otherwise.
    @Test func notKeptWhenCommitFails() throws {
        let world = World()
        try world.create("a")
        let before = world.bytes()
        world.faultInjection = { step in
            if step == "synced" { throw KeyCtlError(.ioError, "injected fault", hint: "the keystore was not changed") }
        }
        let r = world.run(["create", "b"])
        #expect(r.status == 74)
        #expect(r.stdout.isEmpty, "the key was printed though it was not kept")
        #expect(world.bytes() == before)
    }
}
