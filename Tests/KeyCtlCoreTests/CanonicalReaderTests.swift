// The keystore reader has a fast path for records in the exact layout keyctl
// writes (CanonicalRecord.swift). These tests hold it to the general reader: on
// every input, valid or mangled, both must accept the same keystore or both reject.

import Foundation
import Testing

@testable import KeyCtlCore

#if canImport(Glibc)
    import Glibc
#endif

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

func sampleKeystore(_ rng: inout SplitMix, count: Int) -> Keystore {
    let names = ["ci", "deploy bot", "caf\u{E9}", "quote\"d", "back\\slash", "tilde~name", "\u{1F511} emoji", "x"]
    var keys: [KeyRecord] = []
    for i in 0..<count {
        let key = APIKey.generate(prefix: "ak", environment: rng.below(2) == 0 ? .live : .test, randomBytes: { rng.bytes($0) })
        let created = Timestamp(1_700_000_000 + rng.below(100_000_000))
        let revoked = i < count - 3
        let perms = Permissions(rawValue: UInt8(1 + rng.below(15)))
        keys.append(
            KeyRecord(
                id: "key_" + Base62.random(count: 16, randomBytes: { rng.bytes($0) }),
                name: names[rng.below(names.count)] + (revoked ? "" : "-\(i)"),
                digest: key.digest, hint: key.hint, environment: key.environment, permissions: perms,
                createdAt: created,
                expiresAt: rng.below(2) == 0 ? nil : created + Timestamp(rng.below(10_000_000)),
                revokedAt: revoked ? created + Timestamp(rng.below(1000)) : nil,
                lastUsedAt: rng.below(3) == 0 ? created + 5 : nil,
                rotatedFrom: rng.below(4) == 0 ? "key_abc\(i)" : nil,
                rotatedTo: nil))
    }
    return Keystore(prefix: "ak", maxKeys: 10, keys: keys)
}

/// Both readers' answers on `bytes`: the keystore or the fault.
func bothReaders(_ bytes: [UInt8]) -> (Result<Keystore, KeystoreFault>, Result<Keystore, KeystoreFault>) {
    let fast = Result { () throws(KeystoreFault) -> Keystore in try KeystoreCodec.decode(bytes) }
    let general = Result { () throws(KeystoreFault) -> Keystore in try KeystoreCodec.decode(bytes, canonicalFastPath: false) }
    return (fast, general)
}

@Suite struct CanonicalReaderTests {
    @Test func encodedKeystoresDecodeIdenticallyOnBothPaths() throws {
        var rng = SplitMix(state: 1)
        for round in 0..<50 {
            let keystore = sampleKeystore(&rng, count: 1 + round % 12)
            let bytes = KeystoreCodec.encode(keystore)
            let (fast, general) = bothReaders(bytes)
            #expect(try fast.get() == keystore)
            #expect(try general.get() == keystore)
        }
    }

    @Test func mangledKeystoresGetTheSameVerdictOnBothPaths() {
        var rng = SplitMix(state: 2)
        // Bytes chosen to hit the scanner's edges: quotes, escapes, digits, separators, UTF-8.
        let interesting: [UInt8] = [
            0x22, 0x5c, 0x30, 0x39, 0x3a, 0x2d, 0x2c, 0x5a, 0x61, 0x66, 0x67, 0x7f, 0x80, 0xe2, 0xa6, 0x00, 0x0a, 0x20, 0x7b, 0x7d, 0x5b, 0x5d, 0x6e,
        ]
        var rejected = 0
        for _ in 0..<3000 {
            var bytes = KeystoreCodec.encode(sampleKeystore(&rng, count: 3))
            for _ in 0..<(1 + rng.below(3)) {
                let at = rng.below(bytes.count)
                switch rng.below(3) {
                case 0: bytes[at] = interesting[rng.below(interesting.count)]
                case 1: bytes.remove(at: at)
                default: bytes.insert(interesting[rng.below(interesting.count)], at: at)
                }
            }
            let (fast, general) = bothReaders(bytes)
            switch (fast, general) {
            case (.success(let a), .success(let b)):
                #expect(a == b, "readers disagree on: \(String(decoding: bytes, as: UTF8.self))")
            case (.failure, .failure):
                rejected += 1
            default:
                Issue.record("one reader accepted what the other rejected: \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(rejected > 1000)  // the mutations do reach the checks
    }

    @Test func canonicalTimesParseLikeTheGeneralParser() {
        let samples = [
            "2026-11-22T19:17:22Z", "2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:60Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-01-01t00:00:00Z",
            "2026/01/01T00:00:00Z", "2026-01-01T00:00:0aZ", "2026-01-01T00:00:00z",
        ]
        for text in samples {
            let bytes = Array(text.utf8)
            let fast = bytes.withUnsafeBufferPointer { RFC3339.parseCanonical($0.baseAddress!) }
            let general = RFC3339.parse(bytes)
            // The canonical form is upper-case T and Z only; where it accepts, it agrees.
            if let fast { #expect(fast == general, "\(text)") }
            if text.contains("t") || text.hasSuffix("z") { #expect(fast == nil) } else { #expect(fast == general, "\(text)") }
        }
    }
}

@Suite struct HostileTextTests {
    /// A keystore whose one record has `hint` (a JSON string body) and `name` as given.
    func keystore(hint: String, name: String = "ok") -> [UInt8] {
        let digest = String(repeating: "a", count: 64)
        return Array(
            """
            {"version":1,"prefix":"ak","max_keys":10,"keys":[
            {"id":"key_1","name":"\(name)","digest":"\(digest)","hint":"\(hint)","environment":"live","permissions":["read"],"created_at":"2026-01-01T00:00:00Z","expires_at":null,"revoked_at":null,"last_used_at":null,"rotated_from":null,"rotated_to":null}
            ]}
            """.utf8)
    }

    @Test func controlCharactersInAHintOrANameAreRefusedOnBothPaths() {
        // An escape sequence in a field that list and show print would reach the terminal.
        for bad in [
            keystore(hint: "ak_live_\\u001b[31m"), keystore(hint: "x\\u0007"), keystore(hint: "ok", name: "n\\u001b]0;t\\u0007"),
            keystore(hint: "c1\u{85}"),
        ] {
            let (fast, general) = bothReaders(bad)
            #expect((try? fast.get()) == nil)
            #expect((try? general.get()) == nil)
        }
        let (fast, general) = bothReaders(keystore(hint: "ak_live_\u{2026}Qx9Q"))
        #expect((try? fast.get())?.keys.first?.hint == "ak_live_\u{2026}Qx9Q")
        #expect((try? general.get())?.keys.first?.hint == "ak_live_\u{2026}Qx9Q")
    }
}

/// The full check `verify` and `list` run (KeystoreCheck.swift): canonical records checked
/// in chunks, on threads, without building them. Its answer and its fault must be the
/// serial general reader's, whatever the input and however it is split.
@Suite struct KeystoreCheckTests {
    /// The serial general reader's answer, looking for `digest`.
    func serial(_ bytes: [UInt8], _ digest: [UInt8]) -> Result<Keystore, KeystoreFault> {
        Result { () throws(KeystoreFault) -> Keystore in try KeystoreCodec.decode(bytes, onlyDigest: digest, canonicalFastPath: false) }
    }

    func checked(_ bytes: [UInt8], _ digest: [UInt8], chunks: Int) -> Result<Keystore, KeystoreFault> {
        Result { () throws(KeystoreFault) -> Keystore in try KeystoreCodec.decodeChecked(bytes, onlyDigest: digest, chunks: chunks).0 }
    }

    /// A keystore keyctl could have written, then broken in one of the ways the checks
    /// across records and the chunking must see: duplicates, a name in use twice (also
    /// spelt differently), a record not in keyctl's layout, separators, stray bytes.
    func mangled(_ rng: inout SplitMix) -> (bytes: [UInt8], digest: [UInt8]) {
        var keystore = sampleKeystore(&rng, count: 2 + rng.below(14))
        let n = keystore.keys.count
        let a = rng.below(n), b = rng.below(n)
        switch rng.below(8) {
        case 0: keystore.keys[a].id = keystore.keys[b].id
        case 1: keystore.keys[a].digest = keystore.keys[b].digest
        case 2: keystore.keys[n - 1].name = keystore.keys[n - 2].name
        case 3:
            keystore.keys[n - 1].name = "caf\u{E9}"
            keystore.keys[n - 2].name = "cafe\u{301}"
        case 4: keystore.keys[a].name = "plain-\(a)"
        default: break
        }
        var bytes = KeystoreCodec.encode(keystore)
        switch rng.below(7) {
        case 0: bytes.replaceText("\"name\":\"", with: "\"name\": \"", count: 1 + rng.below(2))
        case 1: bytes.replaceText("},\n{", with: "}, \n{", count: 1)
        case 2: bytes.replaceText("\"name\":\"x", with: "\"name\":\"\\u0078", count: 1)
        case 3: bytes.replaceText("},\n{", with: "},\n\n{", count: 1 + rng.below(3))
        default: break
        }
        for _ in 0..<rng.below(3) {
            let interesting: [UInt8] = [0x22, 0x5c, 0x30, 0x3a, 0x2c, 0x0a, 0x20, 0x7b, 0x7d, 0x5b, 0x5d, 0x61, 0xe2]
            let at = rng.below(bytes.count)
            switch rng.below(3) {
            case 0: bytes[at] = interesting[rng.below(interesting.count)]
            case 1: bytes.remove(at: at)
            default: bytes.insert(interesting[rng.below(interesting.count)], at: at)
            }
        }
        let digest = rng.below(4) == 0 ? [] : Array(keystore.keys[rng.below(n)].digest.utf8)
        return (bytes, digest)
    }

    @Test func theCheckGivesTheSerialReadersAnswerAndFault() {
        let seed = UInt64(time(nil))
        print("KeystoreCheckTests seed \(seed)")
        var rng = SplitMix(state: seed)
        var (accepted, rejected) = (0, 0)
        for _ in 0..<1500 {
            let (bytes, digest) = mangled(&rng)
            let expected = serial(bytes, digest)
            for chunks in 1...4 {
                let got = checked(bytes, digest, chunks: chunks)
                #expect(got == expected, "seed \(seed), \(chunks) chunks: \(String(decoding: bytes, as: UTF8.self))")
            }
            if case .success = expected { accepted += 1 } else { rejected += 1 }
        }
        #expect(accepted > 200 && rejected > 200, "accepted \(accepted), rejected \(rejected)")
    }

    /// The same check through list's other window source (ListStream.checkWindowed: the
    /// file read with pread a window at a time, nothing compared byte for byte, an
    /// equal hash a doubt): it never takes a keystore the serial reader refuses, and a
    /// keystore it takes is the serial reader's, record for record (where each starts,
    /// which ones the general reader took, their order). `list --json` on each is the
    /// model's output or the serial reader's fault with nothing on stdout.
    @Test func theWindowedCheckNeverTakesWhatTheSerialReaderRefuses() throws {
        let seed = UInt64(time(nil))
        print("KeystoreCheckTests windowed seed \(seed)")
        var rng = SplitMix(state: seed)
        let w = World()
        w.now = 1_800_000_000
        var (taken, refused, doubted) = (0, 0, 0)
        for round in 0..<900 {
            let (bytes, _) = mangled(&rng)
            #expect(FileManager.default.createFile(atPath: w.keystore, contents: Data(bytes), attributes: [.posixPermissions: 0o600]))
            // The serial general reader's answer, with where each record lies.
            let serial = bytes.withUnsafeBufferPointer { buffer in
                Result { () throws in
                    var decoder = KeystoreCodec.Decoder(reader: JSONReader(buffer), onlyDigest: nil, canonicalFastPath: false)
                    decoder.spans = []
                    return (try decoder.keystore(), decoder.spans!)
                }
            }
            for capacity in [4 << 20, 4096, 900] {
                let checked = try Self.windowed(w.keystore, capacity: capacity)
                switch serial {
                case .failure:
                    #expect(
                        checked == nil, "seed \(seed), window \(capacity): took what the reader refuses: \(String(decoding: bytes, as: UTF8.self))")
                case .success(let (keystore, spans)):
                    guard let checked else { continue }
                    #expect(checked.version == keystore.version, "seed \(seed)")
                    // A record the general reader took may start with the white space before its `{`.
                    func brace(_ at: Int) -> Int { bytes[at...].firstIndex { !" \n\r\t".utf8.contains($0) } ?? at }
                    #expect(
                        checked.offsets.indices.map { brace(checked.start(of: $0)) } == spans.map { Int($0.offset) },
                        "seed \(seed), window \(capacity)")
                    #expect(checked.offsets.indices.map(checked.end) == spans.map { Int($0.offset + $0.length) }, "seed \(seed)")
                    let inOrder = zip(spans, spans.dropFirst()).allSatisfy { $0.createdAt <= $1.createdAt }
                    #expect(checked.ordered == inOrder, "seed \(seed)")
                }
            }
            if round % 4 == 0 {
                let r = w.run(["list", "--json", "--all"])
                switch serial {
                case .failure:
                    #expect(r.status == 65 && r.stdout.isEmpty, "seed \(seed): \(r.stderr)")
                case .success(let (keystore, _)):
                    var out = JSONWriter()
                    out.raw("[")
                    for (i, record) in ListCommand.newestFirst(keystore.keys).enumerated() {
                        if i > 0 { out.raw(",") }
                        out.raw("{")
                        ListStreamTests.writeMembersByKeyPath(record, to: &out, now: w.now)
                        out.raw("}")
                    }
                    out.raw("]\n")
                    #expect(r.status == 0 && r.stdout == String(decoding: out.bytes, as: UTF8.self), "seed \(seed): \(r.stderr)")
                }
            }
            switch (serial, try Self.windowed(w.keystore, capacity: 4 << 20)) {
            case (.failure, _): refused += 1
            case (.success, nil): doubted += 1
            case (.success, _): taken += 1
            }
        }
        #expect(taken > 90 && refused > 300, "taken \(taken), refused \(refused), doubted \(doubted)")
    }

    /// list's windowed check of the keystore at `path`, read in windows of `capacity` bytes.
    static func windowed(_ path: String, capacity: Int) throws -> ListStream.Checked? {
        let file = KeystoreFile(path: path)
        let (fd, st) = try #require(try file.openForReading())
        defer { close(fd) }
        guard st.st_size > 0 else { return nil }
        var window = try ListStream.Window(fd: fd, size: Int(st.st_size), capacity: min(capacity, Int(st.st_size)), file: file)
        defer { window.free() }
        return try ListStream.checkWindowed(&window)
    }

    @Test func theCheckTakesEveryRecordKeyctlWrites() throws {
        var rng = SplitMix(state: 3)
        for round in 0..<40 {
            var keystore = sampleKeystore(&rng, count: 1 + round % 20)
            for i in keystore.keys.indices { keystore.keys[i].name = "svc-\(i)" }
            let bytes = KeystoreCodec.encode(keystore)
            let digest = Array(keystore.keys[round % keystore.keys.count].digest.utf8)
            for chunks in [1, 3] {
                let (found, taken) = try KeystoreCodec.decodeChecked(bytes, onlyDigest: digest, chunks: chunks)
                #expect(taken == keystore.keys.count, "the check took \(taken) of \(keystore.keys.count) records (round \(round))")
                #expect(found.keys == keystore.keys.filter { Array($0.digest.utf8) == digest })
            }
        }
    }

    @Test func theIndexAndTheSpansAreTheSerialReaders() throws {
        var rng = SplitMix(state: 4)
        for round in 0..<30 {
            let bytes = KeystoreCodec.encode(sampleKeystore(&rng, count: 1 + round))
            try bytes.withUnsafeBufferPointer { buffer in
                var serial = KeystoreCodec.Decoder(reader: JSONReader(buffer), onlyDigest: [], canonicalFastPath: false)
                serial.entries = []
                serial.spans = []
                _ = try serial.keystore()
                var fast = KeystoreCodec.Decoder(reader: JSONReader(buffer), onlyDigest: [])
                fast.chunks = 1 + round % 3
                fast.entries = []
                fast.spans = []
                _ = try fast.keystore()
                #expect(fast.entries!.map { [$0.offset, $0.length] } == serial.entries!.map { [$0.offset, $0.length] })
                #expect(fast.entries!.map { [$0.digest.0, $0.digest.3] } == serial.entries!.map { [$0.digest.0, $0.digest.3] })
                #expect(
                    fast.spans!.map { [Int64($0.offset), Int64($0.length), $0.createdAt] }
                        == serial.spans!.map { [Int64($0.offset), Int64($0.length), $0.createdAt] })
            }
        }
    }

    @Test func duplicatesAreFoundAmongManyRecords() {
        // Enough records that the hashes are bucketed and sorted, not compared in one bucket.
        var rng = SplitMix(state: 5)
        var keystore = sampleKeystore(&rng, count: 3000)
        let plain = KeystoreCodec.encode(keystore)
        #expect((try? KeystoreCodec.decodeChecked(plain, onlyDigest: [], chunks: 2)) != nil)
        keystore.keys[2999].id = keystore.keys[17].id
        let bytes = KeystoreCodec.encode(keystore)
        #expect(checked(bytes, [], chunks: 2) == serial(bytes, []))
        #expect((try? KeystoreCodec.decodeChecked(bytes, onlyDigest: [], chunks: 2)) == nil)
    }
}

extension [UInt8] {
    /// Replaces the first `count` occurrences of `target`, one after another.
    fileprivate mutating func replaceText(_ target: String, with replacement: String, count: Int) {
        let t = Array(target.utf8), r = Array(replacement.utf8)
        var from = 0
        for _ in 0..<count {
            guard let at = (from..<Swift.max(from, self.count - t.count + 1)).first(where: { self[$0..<($0 + t.count)].elementsEqual(t) }) else {
                return
            }
            replaceSubrange(at..<(at + t.count), with: r)
            from = at + r.count
        }
    }
}
