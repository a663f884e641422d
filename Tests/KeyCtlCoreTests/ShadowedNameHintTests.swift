// NOT_FOUND's hint for a KEY argument (Invocation.resolve) says whether a revoked or
// retiring key has that name. A write keeps revoked records as their bytes
// (KeyRecords.swift), and the hint reads their names in place (KeyRecords.contains(named:))
// instead of building every record. Held here to what the hint was before: any record
// whose name `==` the reference (Strings: canonically equivalent spellings are one
// name), for names with escapes, beyond ASCII, written with escapes keyctl does not
// write, prefixes and suffixes of stored names, and no match at all.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct ShadowedNameHintTests {
    static let now: Timestamp = 1_800_000_000
    static let shadowedHint = "no key in use has that name; a revoked or retiring key is addressed by its id (see 'keyctl list')"
    static let plainHint = "see 'keyctl list' for ids and names"

    /// Revoked records (kept as bytes in a write) with these names, one retiring, and
    /// keys in use; `sl/ash` and `Kid` are written with escapes keyctl does not write.
    static let revokedNames = [
        "svc", "quote\"d", "back\\slash", "caf\u{E9}", "\u{1F511} emoji", "\u{212A}elvin", "Key", "sl/ash", "Kid", "retiring",
    ]

    static func keystoreText() -> (text: String, keystore: Keystore) {
        var rng = SplitMix(state: 11)
        var records: [KeyRecord] = []
        for (i, name) in (revokedNames + ["live-one", "live-two"]).enumerated() {
            let key = APIKey.generate(prefix: "ak", environment: .live, randomBytes: { rng.bytes($0) })
            var r = KeyRecord(
                id: "key_s\(i)", name: name, digest: key.digest, hint: key.hint, environment: .live, permissions: .read,
                createdAt: 1_700_000_000 + Int64(i) * 60)
            if revokedNames.contains(name) { r.revokedAt = name == "retiring" ? now + 600 : 1_700_100_000 + Int64(i) }
            records.append(r)
        }
        let keystore = Keystore(prefix: "ak", maxKeys: 20, keys: records)
        let text = String(decoding: KeystoreCodec.encode(keystore), as: UTF8.self)
            .replacingOccurrences(of: #""name":"sl/ash""#, with: #""name":"sl\/ash""#)
            .replacingOccurrences(of: #""name":"Kid""#, with: #""name":"\u004bid""#)
        precondition(text.contains(#"sl\/ash"#) && text.contains(#"\u004bid"#))
        return (text, keystore)
    }

    /// References: every name, spellings that are the same name, prefixes, suffixes,
    /// characters JSON escapes (a quote, a backslash, control characters), no match.
    static let references = [
        "svc", "sv", "vc", "svc2", "s", "xsvc",
        "quote\"d", "quote", "\"d", "quote\\\"d", "quote\"", "back\\slash", "back\\\\slash", "back", "slash", "\\",
        "caf\u{E9}", "cafe\u{301}", "caf", "cafe", "caf\u{E9}s", "\u{1F511} emoji", "\u{1F511}", "emoji",
        "Kelvin", "\u{212A}elvin", "elvin", "\u{212A}ey", "Key", "Ke", "key",
        "sl/ash", "sl\\/ash", "sl", "Kid", "\\u004bid", "\u{212A}id", "id",
        "retiring", "retir", "live-one", "live-on", "live-two",
        "tab\there", "new\nline", "nul\u{0}", "del\u{7F}", "no-such-name", "\u{E9}",
    ]

    /// The hint as it was: any record, of any status, whose name == the reference.
    static func wasShadowed(_ reference: String, in keystore: Keystore) -> Bool {
        keystore.keys.all.contains { $0.name == reference }
    }

    /// Inside a real write, on the records as a write reads them: the same answer as
    /// building every record, and no stored record built.
    @Test func theHintReadsStoredNamesInPlaceAndGivesTheSameAnswer() throws {
        let (text, model) = Self.keystoreText()
        let world = World()
        world.write(text)
        let expected = try KeystoreCodec.decode(Array(text.utf8))
        #expect(expected.keys.all.map(\.name) == model.keys.all.map(\.name))
        try KeystoreFile(path: world.keystore).update { keystore, _ in
            let keys = keystore.keys
            let revoked = keys.indices.filter { Self.revokedNames.contains(expected.keys[$0].name) }
            #expect(revoked.count == Self.revokedNames.count)
            #expect(keys.indices.filter { keys.isStored($0) } == revoked)
            for reference in Self.references {
                #expect(
                    keys.contains(named: reference) == Self.wasShadowed(reference, in: expected), "\(reference.debugDescription)")
            }
            #expect(keys.storedRecordsBuilt == 0)
        }
        // Every case above is asked, both ways.
        #expect(Self.references.filter { Self.wasShadowed($0, in: expected) }.count >= 15)
        #expect(Self.references.filter { !Self.wasShadowed($0, in: expected) }.count >= 15)
    }

    /// The command: NOT_FOUND (exit 6), one line with the hint as before, keystore and
    /// log unchanged; the path that makes the hint builds no stored record.
    @Test func revokeOfANameNotInUseGivesTheSameHint() throws {
        let (text, _) = Self.keystoreText()
        let world = World()
        world.now = Self.now
        world.write(text)
        // A write first, so the audit log exists and is compared too.
        #expect(world.run(["update", "live-two", "--description", "d"]).status == 0)
        let expected = try KeystoreFile(path: world.keystore).load()
        let log = world.keystore + ".log"
        let logBefore = try #require(FileManager.default.contents(atPath: log))
        for reference in Self.references where expected.index(of: reference) == nil {
            let (line, message) = world.expectFailure(["revoke", reference], .notFound)
            let hint = Self.wasShadowed(reference, in: expected) ? Self.shadowedHint : Self.plainHint
            #expect(line.hasSuffix("; \(hint)\n"), "\(reference.debugDescription): \(line)")
            #expect(message.hasSuffix(hint), "\(reference.debugDescription): \(message)")
            #expect(FileManager.default.contents(atPath: log) == logBefore, "\(reference.debugDescription)")
        }
        // The error path itself, inside a write: the same error, and no stored record built.
        let output = CapturedOutput()
        let context = output.context(
            environment: { _ in nil }, now: { world.now }, randomBytes: { [UInt8](repeating: 0, count: $0) }, readLine: { nil })
        let parsed = try ArgumentParser.parse(["--keystore", world.keystore, "revoke", "x"])
        let invocation = Invocation(arguments: parsed, spec: try #require(parsed.command), context: context, now: world.now)
        try KeystoreFile(path: world.keystore).update { keystore, _ in
            for reference in Self.references where expected.index(of: reference) == nil {
                let hint = Self.wasShadowed(reference, in: expected) ? Self.shadowedHint : Self.plainHint
                let error = #expect(throws: KeyCtlError.self) { try invocation.resolve(reference, in: keystore) }
                #expect(error?.code == .notFound)
                #expect(error?.hint == hint, "\(reference.debugDescription)")
            }
            #expect(keystore.keys.storedRecordsBuilt == 0)
        }
        #expect(FileManager.default.contents(atPath: log) == logBefore)
    }

    /// A stored record whose name does not follow its id as keyctl writes it (a hand
    /// edit's spacing) is built for the hint, and still answers as before.
    @Test func aNameNotWhereKeyctlWritesItIsBuilt() throws {
        let (text, _) = Self.keystoreText()
        let spaced = text.replacingOccurrences(of: #""key_s0","name":"svc""#, with: #""key_s0", "name": "svc""#)
        #expect(spaced != text)
        let world = World()
        world.write(spaced)
        let expected = try KeystoreCodec.decode(Array(spaced.utf8))
        try KeystoreFile(path: world.keystore).update { keystore, _ in
            #expect(keystore.keys.isStored(0))
            for reference in Self.references {
                #expect(keystore.keys.contains(named: reference) == Self.wasShadowed(reference, in: expected), "\(reference.debugDescription)")
            }
            #expect(keystore.keys.storedRecordsBuilt > 0)
        }
    }

    /// Random references near the names of a keystore with years of history (seed
    /// printed): the same answer as building every record, nothing built.
    @Test(arguments: [5, 6] as [UInt64])
    func nearbyReferencesGiveTheSameAnswer(seed: UInt64) throws {
        print("ShadowedNameHintTests seed \(seed)")
        var rng = SplitMix(state: seed)
        let history = RevokedAsBytesTests.history(&rng, count: 300)
        let world = World()
        world.write(String(decoding: KeystoreCodec.encode(history), as: UTF8.self))
        let names = history.keys.all.map(\.name)
        var references: [String] = []
        for _ in 0..<400 {
            let name = Array(names[rng.below(names.count)])
            switch rng.below(5) {
            case 0: references.append(String(name))
            case 1: references.append(String(name.prefix(rng.below(name.count + 1))))
            case 2: references.append(String(name.suffix(rng.below(name.count + 1))))
            case 3: references.append(String(name) + ["\"", "\\", "0", "\u{E9}", "\u{301}"][rng.below(5)])
            default:
                var changed = name
                changed[rng.below(changed.count)] = ["\"", "\\", "n", "\u{E9}", "\t"].map(Character.init)[rng.below(5)]
                references.append(String(changed))
            }
        }
        try KeystoreFile(path: world.keystore).update { keystore, _ in
            #expect(keystore.keys.indices.contains { keystore.keys.isStored($0) })
            for reference in references {
                #expect(
                    keystore.keys.contains(named: reference) == Self.wasShadowed(reference, in: history),
                    "seed \(seed): \(reference.debugDescription)")
            }
            #expect(keystore.keys.storedRecordsBuilt == 0)
        }
        #expect(references.contains { Self.wasShadowed($0, in: history) })
        #expect(references.contains { !Self.wasShadowed($0, in: history) })
    }
}
