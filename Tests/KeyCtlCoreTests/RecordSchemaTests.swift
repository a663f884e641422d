// RecordSchema is the one description of a key record. These tests hold everything
// else to it: the man page's record section and keystore example, the --json and
// `show` output, rotate's carry-over, and — the pin — the fast scanner, which must
// take every record keyctl itself writes (if it stopped, nothing else would notice:
// the general reader would quietly take over and verify would get slower).

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct RecordSchemaTests {
    /// The `.It Li FIELD` items of the man page's record list (KEYSTORE, Format).
    func manPageRecordFields() throws -> [String] {
        let lines = try ManPage.load().section("KEYSTORE")
        let start = try #require(lines.firstIndex { $0.hasPrefix("A record holds these fields") })
        return ManPage.items(Array(lines[start...])).map { $0.head }.map { head in
            head.hasPrefix("Li ") ? String(head.dropFirst(3)) : head
        }
    }

    @Test func theManPageListsEveryStoredFieldInOrder() throws {
        #expect(try manPageRecordFields() == RecordSchema.stored.map { $0.spec.name })
    }

    @Test func theManPageKeystoreExampleIsTheEncodersLayout() throws {
        let lines = try ManPage.load().section("KEYSTORE")
        let example = try #require(lines.first { $0.hasPrefix("{\"version\":") })
        // The top-level members, in order, as the encoder writes them.
        let encoded = String(decoding: KeystoreCodec.encode(Keystore(log: LogHead(seq: 3, hash: "..."))), as: UTF8.self)
        func members(_ s: String) -> [Substring] {
            s.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { $0.element }
                .filter { ["version", "prefix", "max_keys", "log", "seq", "hash", "keys"].contains($0) }
        }
        #expect(members(example) == members(encoded.split(separator: "\n")[0].description))
        #expect(example.hasPrefix("{\"version\":\(Keystore.currentVersion),"))
        let record = try #require(lines.first { $0.hasPrefix("{\"id\":") })
        let keys = RecordSchema.stored.prefix(3).map { "\"\($0.spec.name)\":" }
        #expect(keys.allSatisfy { record.contains($0) }, "\(record)")
    }

    @Test func storageOutputAndShowFollowTheTable() throws {
        let w = World()
        let c = try w.create("schema", ["--description", "what it is for", "--permissions", "read,write"])
        let json = try w.record(c.id)
        #expect(Set(json.keys) == Set(RecordSchema.fields.filter(\.json).map(\.name)))
        #expect(json["description"] as? String == "what it is for")
        let shown = w.run(["show", c.id]).stdout.split(separator: "\n").map { String($0.prefix { $0 != ":" }) }
        #expect(shown == RecordSchema.fields.filter { $0.show != .hidden }.map(\.name))
        #expect(w.run(["show", c.id]).stdout.contains("description:   what it is for\n"))
        let file = String(decoding: try #require(w.bytes()), as: UTF8.self)
        let line = try #require(file.split(separator: "\n").first { $0.hasPrefix("{\"id\":") })
        var at = line.startIndex
        for field in RecordSchema.stored {
            let range = try #require(line.range(of: "\"\(field.spec.name)\":", range: at..<line.endIndex), "\(field) out of order in \(line)")
            at = range.upperBound
        }
    }

    @Test func rotateCarriesWhatTheTableSays() throws {
        let w = World()
        let c = try w.create("rotating", ["--description", "kept by rotate", "--permissions", "admin", "--env", "test"])
        let r = w.run(["--json", "rotate", c.id])
        try #require(r.status == 0, "\(r.stderr)")
        let new = try #require(try object(r.stdout)["new"] as? [String: Any])
        for spec in RecordSchema.fields where spec.rotate == .carried {
            #expect(sameJSON(new[spec.name], c.record[spec.name]), "rotate dropped \(spec.name)")
        }
        #expect(new["description"] as? String == "kept by rotate")
        #expect(try w.record(try #require(new["id"] as? String))["description"] as? String == "kept by rotate")
    }

    @Test func descriptionsAreOptionalAndChecked() throws {
        let w = World()
        let plain = try w.create("plain")
        #expect(plain.record["description"] is NSNull)
        #expect(try w.create("empty", ["--description", ""]).record["description"] is NSNull)
        let wide = try w.create("wide", ["--description", "caf\u{E9} \u{1F511} \"quoted\""])
        #expect(try w.list().first { $0["id"] as? String == wide.id }?["description"] as? String == "caf\u{E9} \u{1F511} \"quoted\"")
        #expect(try w.create("long", ["--description", String(repeating: "ab ", count: 166) + "ab"]).record["description"] as? String != nil)
        w.expectFailure(["create", "too-long", "--description", String(repeating: "ab ", count: 167)], .usage)
        w.expectFailure(["create", "control", "--description", "a\u{1B}[31mb"], .usage)
        w.expectFailure(["create", "secret", "--description", "ak_live_3XbV0p9qTq2fWm4yR8sLk1ZcN7dHe6Aa0Jx9Q"], .usage)
        // A description is not unique.
        try w.create("again", ["--description", "caf\u{E9} \u{1F511} \"quoted\""])
    }

    // MARK: The pin

    /// Keystores as keyctl writes them, with plain-ASCII text (the scanner leaves
    /// other text to the general reader by design).
    func asciiKeystore(_ rng: inout SplitMix, count: Int) -> Keystore {
        var keystore = sampleKeystore(&rng, count: count)
        let texts = ["ci", "deploy bot", "quote-less", "x", "a b c ~ { } [ ] : ,"]
        for i in keystore.keys.indices {
            keystore.keys[i].name = texts[rng.below(texts.count)] + "-\(i)"
            keystore.keys[i].description = rng.below(2) == 0 ? nil : texts[rng.below(texts.count)] + String(repeating: "d", count: rng.below(400))
            if rng.below(4) == 0 { keystore.keys[i].description = "" }
        }
        keystore.log = rng.below(2) == 0 ? nil : LogHead(seq: Int64(rng.below(1000)), hash: String(repeating: "0f", count: 32))
        return keystore
    }

    @Test func theFastScannerTakesEveryRecordKeyctlWrites() throws {
        var rng = SplitMix(state: 9)
        for round in 0..<40 {
            let keystore = asciiKeystore(&rng, count: 1 + round % 9)
            let (decoded, fast) = try KeystoreCodec.decodeCountingFastPath(KeystoreCodec.encode(keystore))
            #expect(decoded.keys == keystore.keys)
            #expect(fast == keystore.keys.count, "the fast scanner took \(fast) of \(keystore.keys.count) records keyctl wrote (round \(round))")
        }
        // And records in keyctl 1.0's layout, in a version 1 file.
        for name in ["basic", "rotated", "lifecycle"] {
            let bytes = try Fixture(name: name).bytes()
            let (decoded, fast) = try KeystoreCodec.decodeCountingFastPath(bytes)
            #expect(fast == decoded.keys.count, "\(name): \(fast) of \(decoded.keys.count)")
        }
    }

    @Test func theCommandsWriteRecordsTheFastScannerTakes() throws {
        let w = World()
        let a = try w.create("first", ["--description", "one"])
        try w.create("second", ["--expires-in", "30d", "--permissions", "read,webhook"])
        #expect(w.run(["rotate", a.id, "--grace", "1h"]).status == 0)
        #expect(w.run(["revoke", "second"]).status == 0)
        let bytes = try #require(w.bytes())
        let (decoded, fast) = try KeystoreCodec.decodeCountingFastPath(bytes)
        #expect(decoded.keys.count == 3 && fast == 3)
    }
}
