// keyctl on 1,000,000 records, through the real binary (untimed): every command
// works and answers right. The keystore is about 370 MB, so this runs only when
// KEYCTL_LARGE_TESTS=1 (CI's large-keystore step sets it).

import Foundation
import Testing

@Suite("A million records", .serialized, .enabled(if: ProcessInfo.processInfo.environment["KEYCTL_LARGE_TESTS"] == "1"))
struct MillionRecordTests {
    static let count = 1_000_000

    /// The keystore keyctl wrote for `init` + `create`, with `revoked` records laid out
    /// exactly as keyctl writes them inserted before the live ones.
    static func plant(_ box: Sandbox, revoked: Int) throws {
        let text = try #require(box.keystoreBytes())
        let bytes = [UInt8](text)
        let marker = Array("\"keys\":[\n".utf8)
        let start = try #require(bytes.indices.first { bytes[$0...].starts(with: marker) }) + marker.count
        let end = try #require(bytes[start...].firstIndex(of: UInt8(ascii: "\n")))
        let template = String(decoding: bytes[start..<end], as: UTF8.self)
        // Swap the live record's id, digest, name and revoked_at for the generated ones.
        let id = try #require(template.firstMatch(of: /"id":"(key_[0-9A-Za-z]+)"/)).1
        let digest = try #require(template.firstMatch(of: /"digest":"([0-9a-f]{64})"/)).1
        let name = try #require(template.firstMatch(of: /"name":"([^"]+)"/)).1
        let pieces = template.replacingOccurrences(of: "\"revoked_at\":null", with: "\"revoked_at\":\"2025-01-01T00:00:00Z\"")
            .replacingOccurrences(of: String(id), with: "\u{1}").replacingOccurrences(of: String(digest), with: "\u{2}")
            .replacingOccurrences(of: "\"name\":\"\(name)\"", with: "\"name\":\"old\"")
        #expect(pieces.contains("\"revoked_at\":\"2025"), "the live record's revoked_at is null")
        let parts = pieces.split(separator: "\u{1}", omittingEmptySubsequences: false).flatMap {
            $0.split(separator: "\u{2}", omittingEmptySubsequences: false).map { Array($0.utf8) }
        }
        try #require(parts.count == 3, "one id and one digest in a record")
        var out = Array(bytes[..<start])
        out.reserveCapacity(bytes.count + revoked * (template.utf8.count + 8))
        let hex = Array("0123456789abcdef".utf8)
        for i in 0..<revoked {
            out += parts[0]
            out += Array("key_r\(i)".utf8)
            out += parts[1]
            var d = [UInt8](repeating: UInt8(ascii: "e"), count: 64)
            var v = i
            for j in stride(from: 63, through: 48, by: -1) {
                d[j] = hex[v & 15]
                v >>= 4
            }
            out += d
            out += parts[2]
            out += [UInt8(ascii: ","), UInt8(ascii: "\n")]
        }
        out += bytes[start...]
        try Data(out).write(to: URL(fileURLWithPath: box.keystore))
    }

    @Test func everyCommandWorksOnAMillionRecords() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init", "--max-keys", "100"]).status == 0)
        let live = box.keyctl(["create", "live"])
        try #require(live.status == 0)
        let key = live.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try Self.plant(box, revoked: Self.count - 1)
        let size = try #require(box.keystoreBytes()).count
        #expect(size > 300_000_000)

        #expect(box.keyctl(["verify"], stdin: key).status == 0)
        #expect(box.keyctl(["verify"], stdin: key).status == 0)
        #expect(box.keyctl(["show", "key_r500000"]).stdout.contains("revoked"))
        let second = box.keyctl(["create", "second"])
        #expect(second.status == 0, "\(second.stderr)")
        let list = box.keyctl(["list", "--json"])
        #expect(list.status == 0)
        let ids = list.stdoutBytes.withUnsafeBytes { raw in
            var n = 0
            let needle = Array("\"id\":".utf8)
            var i = 0
            while i + needle.count <= raw.count {
                if raw[i] == needle[0] && raw[i + 1] == needle[1] && raw[i + 2] == needle[2] && raw[i + 3] == needle[3] && raw[i + 4] == needle[4] {
                    n += 1
                }
                i += 1
            }
            return n
        }
        // Revoked keys may be left out of a plain list; the two live ones never are.
        #expect(ids == Self.count + 1 || ids == 2, "\(ids) records listed")
        let rotate = box.keyctl(["rotate", "live"])
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(box.keyctl(["verify"], stdin: key).status == 3)
        #expect(box.keyctl(["revoke", "second"]).status == 0)
        // The file still holds every record, and a failed write left it alone.
        let before = try #require(box.keystoreBytes())
        #expect(box.keyctl(["revoke", "key_nonexistent"]).status != 0)
        #expect(box.keystoreBytes() == before)
        #expect(before.count > size)
    }
}
