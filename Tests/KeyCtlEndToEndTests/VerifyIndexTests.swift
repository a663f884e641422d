// verify's index, through the real binary and the real clock: it appears once the
// keystore has settled, answers like the full read, and goes stale the moment the
// keystore changes. No fixed sleep: verify is polled (with a deadline) until the
// index of the current keystore is there. The settle rule itself is tested with an
// injected clock in KeystoreIndexTests.

import Foundation
import Testing

@Suite struct VerifyIndexTests {
    @Test func indexIsBuiltOnceSettledAndNeverOutlivesAChange() throws {
        let box = Sandbox()
        var keys: [String] = []
        for name in ["one", "two", "three"] {
            let r = box.keyctl(["create", name])
            try #require(r.status == 0)
            keys.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let index = box.keystore + ".index"
        // Fresh keystore: verify reads it all and leaves no index yet (racily clean).
        #expect(box.keyctl(["verify"], stdin: keys[0]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: index))
        // Settled: a verify writes it (its stamp goes to the usage file, not the keystore).
        try Self.verifyUntilIndexed(box, keys[1] + "\n", status: 0)
        // Answers through the index.
        #expect(box.keyctl(["verify"], stdin: keys[1]).status == 0)
        #expect(box.keyctl(["verify"], stdin: "ak_live_" + String(repeating: "A", count: 38)).status == 1)
        // A revoke replaces the keystore: the old index must not say "valid".
        #expect(box.keyctl(["revoke", "three"]).status == 0)
        #expect(box.keyctl(["verify"], stdin: keys[2]).status == 3)
        try Self.verifyUntilIndexed(box, keys[2], status: 3)
        #expect(box.keyctl(["verify"], stdin: keys[2]).status == 3)
        #expect(box.keyctl(["verify"], stdin: keys[0]).status == 0)
        // The index holds digests and offsets, never a key.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: index))
        for key in keys {
            #expect(bytes.range(of: Data(key.utf8.suffix(12))) == nil)
        }
        // And the keystore directory holds the keystore, its lock, its index, its log and its usage only.
        let names = try FileManager.default.contentsOfDirectory(atPath: box.directory.path).sorted()
        #expect(names == ["keystore.json", "keystore.json.index", "keystore.json.lock", "keystore.json.log", "keystore.json.usage"])
    }

    /// Runs verify (expecting `status` every time) until the index describes the
    /// keystore as it is now: once it has settled (2 s), within a 20 s deadline.
    static func verifyUntilIndexed(_ box: Sandbox, _ stdin: String, status: Int32) throws {
        let deadline = monotonicNow() + 20
        while true {
            #expect(box.keyctl(["verify"], stdin: stdin).status == status)
            var keystore = stat()
            var index = stat()
            if stat(box.keystore, &keystore) == 0, stat(box.keystore + ".index", &index) == 0,
                (index.st_mtim.tv_sec, index.st_mtim.tv_nsec) > (keystore.st_ctim.tv_sec, keystore.st_ctim.tv_nsec)
            {
                return
            }
            try #require(monotonicNow() < deadline, "no index of the settled keystore after 20 s")
            usleep(100_000)
        }
    }
}
