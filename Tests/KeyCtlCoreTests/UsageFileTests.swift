// The usage file (last-used times beside the keystore): stamps are 32-byte appends
// that survive damage around them, compaction keeps the newest stamp per key and
// loses none appended meanwhile, and a file keyctl may not trust is ignored.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct UsageFileTests {
    static func prefix(_ n: Int) -> UsageFile.Prefix {
        UsageFile.Prefix(hex: Array(SHA256.hash(Array("key \(n)".utf8)).flatMap { Array(String(format: "%02x", $0).utf8) }))!
    }

    final class Place {
        let dir: String
        var keystore: String { dir + "/keystore.json" }
        var usage: UsageFile { UsageFile(BesideFiles(keystorePath: keystore, owner: BesideOwner(uid: geteuid()), system: SystemSeam())) }

        init() {
            dir = NSTemporaryDirectory() + "/keyctl-usage-\(UUID().uuidString)"
            mkdir(dir, 0o700)
            close(open(keystore + ".lock", O_RDWR | O_CREAT, 0o600))
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        func size() -> Int { (try? FileManager.default.attributesOfItem(atPath: usage.path)[.size] as? Int) ?? -1 }
    }

    @Test func aStampIsOneRecordAndTheNewestWins() {
        let place = Place()
        let usage = place.usage
        #expect(usage.times().isEmpty)
        #expect(usage.stamp(Self.prefix(1), at: 1_900_000_100))
        #expect(usage.stamp(Self.prefix(1), at: 1_900_000_000))
        #expect(usage.stamp(Self.prefix(2), at: 1_900_000_050))
        #expect(place.size() == 3 * UsageFile.recordSize)
        #expect(usage.times() == [Self.prefix(1): 1_900_000_100, Self.prefix(2): 1_900_000_050])
        #expect(usage.recentTime(of: Self.prefix(1)) == 1_900_000_100)
        #expect(usage.recentTime(of: Self.prefix(3)) == nil)
        var st = stat()
        #expect(stat(usage.path, &st) == 0 && st.st_mode & 0o777 == 0o600)
    }

    @Test func damagedAndTornRecordsAreSkipped() throws {
        let place = Place()
        let usage = place.usage
        usage.stamp(Self.prefix(1), at: 1_900_000_001)
        // A torn record (a full disk), garbage, a record with a bad checksum, then good ones.
        let fd = open(usage.path, O_WRONLY | O_APPEND)
        var junk = Array(UsageFile.encode(Self.prefix(2), at: 1_900_000_002).prefix(13))
        junk += Array("not a record at all".utf8)
        var bad = UsageFile.encode(Self.prefix(3), at: 1_900_000_003)
        bad[22] ^= 1
        junk += bad
        _ = junk.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        close(fd)
        usage.stamp(Self.prefix(4), at: 1_900_000_004)
        #expect(usage.times() == [Self.prefix(1): 1_900_000_001, Self.prefix(4): 1_900_000_004])
        #expect(usage.recentTime(of: Self.prefix(4)) == 1_900_000_004)
    }

    @Test func compactionKeepsTheNewestStampOfEveryKey() {
        let place = Place()
        let usage = place.usage
        for round in 0..<5 {
            for k in 0..<20 { usage.stamp(Self.prefix(k), at: 1_900_000_000 + Int64(round * 100 + k), compact: false) }
        }
        let before = usage.times()
        #expect(usage.compact())
        #expect(place.size() == 20 * UsageFile.recordSize)
        #expect(usage.times() == before)
        #expect(usage.compact(keep: { $0 != Self.prefix(7) }))
        #expect(usage.times().count == 19 && usage.times()[Self.prefix(7)] == nil)
    }

    @Test func compactionWaitsForNoLock() {
        let place = Place()
        let usage = place.usage
        usage.stamp(Self.prefix(1), at: 1_900_000_000)
        usage.stamp(Self.prefix(1), at: 1_900_000_001)
        let holder = open(place.keystore + ".lock", O_RDWR)
        defer { close(holder) }
        #expect(flock(holder, LOCK_EX) == 0)
        let started = monotonicSeconds()
        #expect(!usage.compact())
        #expect(monotonicSeconds() - started < 1)
        #expect(place.size() == 2 * UsageFile.recordSize)
    }

    @Test func appendsGrowTheFileOnlyToAPowerOfTwoBeforeCompacting() {
        #expect(!UsageFile.crossesThreshold(before: 65_504, after: 65_535))
        #expect(UsageFile.crossesThreshold(before: 65_504, after: 65_536))
        #expect(!UsageFile.crossesThreshold(before: 65_536, after: 65_568))
        #expect(UsageFile.crossesThreshold(before: 131_040, after: 131_072))
        let place = Place()
        let usage = place.usage
        // 3 keys stamped 2,048 times: the append that reaches 64 KiB compacts to 3 records.
        for i in 0..<(65_536 / UsageFile.recordSize) { usage.stamp(Self.prefix(i % 3), at: 1_900_000_000 + Int64(i)) }
        #expect(place.size() == 3 * UsageFile.recordSize)
        #expect(usage.times()[Self.prefix(2047 % 3)] == 1_900_002_047)
    }

    /// Threads appending through their own descriptors (as processes do) while others
    /// compact: every stamp that reported success is in the file afterwards.
    @Test func concurrentStampsAndCompactionsLoseNoStamp() {
        let place = Place()
        nonisolated(unsafe) let usage = place.usage
        let writers = 4, perWriter = 300
        DispatchQueue.concurrentPerform(iterations: writers + 2) { worker in
            if worker < writers {
                for i in 0..<perWriter {
                    let ok = usage.stamp(Self.prefix(worker * perWriter + i), at: 1_900_000_000 + Int64(i), compact: false)
                    precondition(ok)
                }
            } else {
                for _ in 0..<60 { _ = usage.compact() }
            }
        }
        let times = usage.times()
        var lost = 0
        for worker in 0..<writers {
            for i in 0..<perWriter where times[Self.prefix(worker * perWriter + i)] != 1_900_000_000 + Int64(i) { lost += 1 }
        }
        #expect(lost == 0)
    }

    @Test func aFileKeyctlMayNotTrustIsIgnored() throws {
        let place = Place()
        let usage = place.usage
        usage.stamp(Self.prefix(1), at: 1_900_000_000)
        // Writable by others: could be planted; not read, not appended to.
        chmod(usage.path, 0o622)
        #expect(usage.times().isEmpty)
        #expect(!usage.stamp(Self.prefix(1), at: 1_900_000_100))
        chmod(usage.path, 0o600)
        // Another owner.
        #expect(UsageFile(BesideFiles(keystorePath: place.keystore, owner: BesideOwner(uid: geteuid() &+ 1), system: SystemSeam())).times().isEmpty)
        // A symbolic link is not followed.
        let target = place.dir + "/elsewhere"
        rename(usage.path, target)
        symlink(target, usage.path)
        #expect(usage.times().isEmpty)
        #expect(!usage.stamp(Self.prefix(1), at: 1_900_000_100))
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)).count == UsageFile.recordSize)
    }

    @Test func loadShowsTheNewerOfTheKeystoreAndTheUsageFile() throws {
        let (keystore, _) = KeystoreIndexTests.keystore(seed: 31, count: 3)
        var k = keystore
        k.keys[0].lastUsedAt = 1_900_000_500
        k.keys[1].lastUsedAt = 1_900_000_500
        let place = try KeystoreIndexTests.Place(k)
        let usage = KeystoreFile(path: place.path).usageFile()
        usage.stamp(UsageFile.Prefix(hex: k.keys[0].digest.utf8)!, at: 1_900_000_400)
        usage.stamp(UsageFile.Prefix(hex: k.keys[1].digest.utf8)!, at: 1_900_000_600)
        usage.stamp(UsageFile.Prefix(hex: k.keys[2].digest.utf8)!, at: 1_900_000_700)
        let loaded = try KeystoreFile(path: place.path).load()
        #expect(loaded.keys.map(\.lastUsedAt) == [1_900_000_500, 1_900_000_600, 1_900_000_700])
    }
}
