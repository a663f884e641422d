// verify's fast path (map the file, check every record, build only the match) must
// give the right answer on a keystore with years of history. Not timed: the
// benchmark measures speed; this pins correctness at 100,000 records.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct LargeKeystoreTests {
    static let now: Timestamp = 1_900_000_000

    /// A keystore of `revoked` revoked records with random digests, with real keys
    /// planted first, in the middle and last, as KeystoreCodec writes it.
    static func build(revoked: Int) -> (bytes: [UInt8], keys: [String: String]) {
        var rng = SplitMix(state: 42)
        var records: [KeyRecord] = []
        var keys: [String: String] = [:]
        func plant(_ label: String, expiresAt: Timestamp? = nil, revokedAt: Timestamp? = nil, permissions: Permissions = .read) {
            let key = APIKey.generate(prefix: "ak", environment: .live, randomBytes: { rng.bytes($0) })
            keys[label] = key.text
            records.append(
                KeyRecord(
                    id: "key_\(label)", name: label, digest: key.digest, hint: key.hint, environment: .live, permissions: permissions,
                    createdAt: now - 1000, expiresAt: expiresAt, revokedAt: revokedAt))
        }
        plant("firstRevoked", revokedAt: now - 10)
        for i in 0..<revoked {
            if i == revoked / 2 { plant("middleExpired", expiresAt: now - 1) }
            records.append(
                KeyRecord(
                    id: "key_r\(i)", name: "old \(i % 97)", digest: Hex.encode(rng.bytes(32)), hint: "ak_live_\u{2026}abcd",
                    environment: i % 2 == 0 ? .live : .test, permissions: .read, createdAt: now - 100_000 + Timestamp(i % 1000),
                    revokedAt: now - 50_000))
        }
        plant("lastActive", permissions: [.read, .write])
        return (KeystoreCodec.encode(Keystore(prefix: "ak", maxKeys: 10, keys: records)), keys)
    }

    func verify(_ key: String, at path: String, require: String? = nil) -> (Int32, String) {
        var out: [UInt8] = []
        let context = Context(
            environment: { _ in nil }, now: { Self.now }, randomBytes: systemRandomBytes, readLine: { key },
            writeStdout: {
                out += $0; return true
            }, writeStderr: { _ in true })
        let status = KeyCtl.run(["--keystore", path, "--json", "verify"] + (require.map { ["--require", $0] } ?? []), context: context)
        return (status, String(decoding: out, as: UTF8.self))
    }

    @Test func verifyAnswersRightOnAHundredThousandRecords() throws {
        let (bytes, keys) = Self.build(revoked: 100_000)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keyctl-large-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("keystore.json").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]))

        let active = verify(keys["lastActive"]!, at: path)
        #expect(active.0 == 0)
        #expect(active.1.contains("\"valid\":true") && active.1.contains("\"id\":\"key_lastActive\""))
        #expect(verify(keys["lastActive"]!, at: path, require: "write").0 == 0)
        #expect(verify(keys["lastActive"]!, at: path, require: "admin").0 == 4)

        let revoked = verify(keys["firstRevoked"]!, at: path)
        #expect(revoked.0 == 3 && revoked.1.contains("REVOKED_API_KEY"))
        let expired = verify(keys["middleExpired"]!, at: path)
        #expect(expired.0 == 2 && expired.1.contains("EXPIRED_API_KEY"))

        let stranger = APIKey.generate(prefix: "ak", environment: .live, randomBytes: systemRandomBytes).text
        #expect(verify(stranger, at: path).0 == 1)

        // The valid verify stamped last_used_at in the usage file, not in the keystore.
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
        let after = try KeystoreFile(path: path).load()
        #expect(after.keys.count == 100_003)
        #expect(after.keys.last?.lastUsedAt == Self.now)
        #expect(after.keys.filter { $0.lastUsedAt != nil }.count == 1)
    }

    @Test func aFaultDeepInALargeKeystoreIsStillFound() throws {
        var (bytes, keys) = Self.build(revoked: 20_000)
        // Break one revoked record in the middle: verify of a good key must still refuse.
        let text = String(decoding: bytes, as: UTF8.self)
        let broken = text.replacingOccurrences(of: "\"id\":\"key_r10000\"", with: "\"id\":\"key_r10000\",\"extra\":1")
        #expect(broken != text)
        bytes = Array(broken.utf8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keyctl-large-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("keystore.json").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]))
        #expect(verify(keys["lastActive"]!, at: path).0 == 65)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
    }
}
