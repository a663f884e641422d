// `list --json` is streamed (ListStream.swift): checked whole, then a record at a
// time. Its output must be byte for byte what printing the whole model prints: the
// model here is `load()` (usage merged), ListCommand.newestFirst, the same filter,
// and RecordSchema's --json members, joined as an array.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct ListStreamTests {
    static let now: Timestamp = 1_800_000_000

    /// Keys of every field shape: descriptions (none, empty, escaped, unicode),
    /// unicode names, both environments, every permission set, every status, rotation
    /// links, usage older and newer than the record's own last_used_at, created_at out
    /// of file order and equal among several records.
    static func keystore(seed: UInt64, count: Int) -> (Keystore, stamps: [(String, Timestamp)]) {
        var rng = SplitMix(state: seed)
        func pick(_ n: Int) -> Int { Int(rng.bytes(4).reduce(0) { $0 << 8 | UInt32($1) } % UInt32(n)) }
        let names = ["deploy bot", "鍵 \(0)", "🔑 ci", "cafe\u{301}", "caf\u{E9}", "a \"quoted\" \\ name", "Ünïcödé", "x"]
        let descriptions: [String?] = [nil, "", "the deploy pipeline", "ключ для \"ci\" \\ сервиса", "😀 emoji and tab-free text", nil]
        var records: [KeyRecord] = []
        var stamps: [(String, Timestamp)] = []
        for i in 0..<count {
            let key = APIKey.generate(prefix: "ls", environment: pick(2) == 0 ? .live : .test, randomBytes: { rng.bytes($0) })
            // Mostly in time order, some out of it, many sharing a second.
            let created = now - 100_000 + Int64(i / 3) * 7 - (pick(10) == 0 ? Int64(pick(50_000)) : 0)
            var record = KeyRecord(
                id: "key_\(i)x\(pick(1000))", name: names[pick(names.count)] + " \(i)", description: descriptions[pick(descriptions.count)],
                digest: key.digest, hint: key.hint, environment: key.environment,
                permissions: Permissions(rawValue: UInt8(1 + pick(15))), createdAt: created)
            switch pick(5) {
            case 0: record.expiresAt = now - 10  // expired
            case 1: record.expiresAt = now + Int64(pick(90)) * 86400 + 1  // active, maybe due
            case 2: record.revokedAt = now - Int64(pick(1000)) - 1  // revoked
            case 3:
                record.revokedAt = now + 3600  // retiring
                record.rotatedTo = "key_next\(i)"
            default: break  // active, no expiry
            }
            if pick(3) == 0 { record.rotatedFrom = "key_prev\(i)" }
            if pick(2) == 0 { record.lastUsedAt = now - Int64(pick(100_000)) }
            if pick(2) == 0 { stamps.append((key.digest, now - Int64(pick(100_000)))) }
            records.append(record)
        }
        return (Keystore(prefix: "ls", maxKeys: 100_000, keys: records), stamps)
    }

    /// What printing the whole model prints for `list --json ARGS`.
    func model(_ path: String, keep: (KeyRecord, KeyStatus) -> Bool) throws -> String {
        let records = ListCommand.newestFirst(try KeystoreFile(path: path).load().keys).filter { keep($0, $0.status(at: Self.now)) }
        var w = JSONWriter()
        w.raw("[")
        for (i, r) in records.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            Self.writeMembersByKeyPath(r, to: &w, now: Self.now)
            w.raw("}")
        }
        w.raw("]\n")
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static var filters: [([String], (KeyRecord, KeyStatus) -> Bool)] {
        [
            ([], { $1 != .revoked }),
            (["--all"], { _, _ in true }),
            (["--status", "revoked"], { $1 == .revoked }),
            (["--status", "active,retiring"], { $1 == .active || $1 == .retiring }),
            (["--expiring-within", "30d"], { $0.isDueForRotation(status: $1, within: 30 * 86400, now: now) }),
            (["--all", "--status", "expired"], { $1 == .expired }),
        ]
    }

    func world(_ keystore: Keystore, stamps: [(String, Timestamp)]) throws -> World {
        let w = World()
        w.now = Self.now
        try KeystoreFile(path: w.keystore).write(KeystoreCodec.encode(keystore))
        let usage = KeystoreFile(path: w.keystore).usageFile()
        for (digest, time) in stamps { #expect(usage.stamp(UsageFile.Prefix(hex: digest.utf8)!, at: time, compact: false)) }
        return w
    }

    /// Checks every filter against the model, read in the default window and in small
    /// ones (records cross window ends, the output walks many windows back), and
    /// that the file takes the windowed way (`windowed`) or the mapped one.
    func expectSameAsModel(_ w: World, windowed: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try Self.takesWindowedWay(w.keystore, window: 4 << 20) == windowed, "windowed way", sourceLocation: sourceLocation)
        for window in [4 << 20, 4096, 1500] {
            w.system.listWindowSize = window
            defer { w.system.listWindowSize = SystemSeam().listWindowSize }
            for (arguments, keep) in Self.filters {
                let r = w.run(["list", "--json"] + arguments)
                #expect(r.status == 0, "\(arguments): \(r.stderr)", sourceLocation: sourceLocation)
                let expected = try model(w.keystore, keep: keep)
                #expect(r.stdout == expected, "list --json \(arguments) (window \(window)) differs from the model", sourceLocation: sourceLocation)
            }
        }
    }

    /// Whether `list` reads the keystore at `path` a window at a time (ListStream.checkWindowed).
    static func takesWindowedWay(_ path: String, window size: Int) throws -> Bool {
        let file = KeystoreFile(path: path)
        let (fd, st) = try #require(try file.openForReading())
        defer { close(fd) }
        var window = try ListStream.Window(fd: fd, size: Int(st.st_size), capacity: min(size, Int(st.st_size)), file: file)
        defer { window.free() }
        return try ListStream.checkWindowed(&window) != nil
    }

    @Test(arguments: [1, 2, 3])
    func streamedOutputIsTheModelsByteForByte(seed: UInt64) throws {
        print("ListStreamTests seed \(seed)")
        // Enough records that the output is flushed in several pieces.
        let (keystore, stamps) = Self.keystore(seed: seed, count: 700)
        let w = try world(keystore, stamps: stamps)
        let all = w.run(["list", "--json", "--all"])
        #expect(all.stdout.utf8.count > 3 * ListStream.flushSize)
        // Every shape is there.
        let records = try #require(parse(all.stdout) as? [[String: Any]])
        #expect(records.count == 700)
        #expect(Set(records.compactMap { $0["status"] as? String }) == ["active", "expired", "retiring", "revoked"])
        #expect(records.contains { $0["description"] is NSNull } && records.contains { $0["description"] as? String == "" })
        try expectSameAsModel(w)
    }

    @Test func theOrderIsTheModelsWhenTimesAreInFileOrderAndWhenNot() throws {
        var (keystore, _) = Self.keystore(seed: 9, count: 50)
        for i in keystore.keys.indices { keystore.keys[i].createdAt = Self.now - 1000 + Int64(i / 4) }
        try expectSameAsModel(try world(keystore, stamps: []))
        keystore.keys.reverse()
        try expectSameAsModel(try world(keystore, stamps: []))
    }

    @Test func aKeystoreNotLaidOutByKeyctlListsTheSame() throws {
        let (keystore, stamps) = Self.keystore(seed: 4, count: 40)
        let w = try world(keystore, stamps: stamps)
        let canonical = w.run(["list", "--json", "--all"]).stdout
        // The same keystore, pretty-printed: the general reader, not the fast scanner.
        let object = try JSONSerialization.jsonObject(with: Data(try #require(w.bytes())))
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted])
        w.write(String(decoding: pretty, as: UTF8.self))
        #expect(w.run(["list", "--json", "--all"]).stdout == canonical)
        try expectSameAsModel(w, windowed: false)
    }

    /// Every record in the scanner's exact layout (ASCII text, U+2026 in hints): the
    /// byte-copying writer prints every record, and the output is still the model's.
    @Test(arguments: [11, 12])
    func aKeystoreOfCanonicalRecordsIsCopiedByteForByte(seed: UInt64) throws {
        print("ListStreamTests seed \(seed)")
        var (keystore, stamps) = Self.keystore(seed: seed, count: 400)
        for i in keystore.keys.indices {
            keystore.keys[i].name = "svc \(i) <ok> & 'quoted'"
            if keystore.keys[i].description != nil { keystore.keys[i].description = i % 2 == 0 ? "" : "plain / text, ~\(i)" }
        }
        let w = try world(keystore, stamps: stamps)
        let (_, fast) = try KeystoreCodec.decodeCountingFastPath(try #require(w.bytes()))
        #expect(fast == 400)
        try expectSameAsModel(w)
    }

    /// Times whose stored text is not what --json prints (a leap second is read as :59)
    /// and the ends of the four-digit years.
    @Test func storedTimesThatAreNotPrintedAsStoredStillMatchTheModel() throws {
        var (keystore, _) = Self.keystore(seed: 13, count: 30)
        for i in keystore.keys.indices { keystore.keys[i].name = "k\(i)" }
        let w = try world(keystore, stamps: [])
        var text = String(decoding: try #require(w.bytes()), as: UTF8.self)
        let created = RFC3339.format(keystore.keys[3].createdAt)
        text = text.replacingOccurrences(of: "\"created_at\":\"\(created)\"", with: "\"created_at\":\"\(created.prefix(17))60Z\"")
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[5] = lines[5].replacingOccurrences(of: "\"last_used_at\":null", with: "\"last_used_at\":\"0000-01-01T00:00:60Z\"")
        lines[6] = lines[6].replacingOccurrences(of: "\"expires_at\":null", with: "\"expires_at\":\"9999-12-31T23:59:59Z\"")
        w.write(lines.joined(separator: "\n"))
        #expect(text.contains("60Z"))
        try expectSameAsModel(w)
    }

    /// Two records with one id (or digest, or two keys in use with one name, also when
    /// spelt in two normal forms): the windowed check doubts, and the reader reports the
    /// fault exactly as `load` does; nothing on stdout.
    @Test(arguments: ["id", "digest", "name", "normal form"])
    func aDuplicateFailsAsTheReaderSays(field: String) throws {
        var (keystore, _) = Self.keystore(seed: 14, count: 40)
        for i in keystore.keys.indices {
            keystore.keys[i].name = "k\(i)"
            keystore.keys[i].revokedAt = nil
            keystore.keys[i].rotatedTo = nil
        }
        switch field {
        case "id": keystore.keys[30].id = keystore.keys[2].id
        case "digest": keystore.keys[30].digest = keystore.keys[2].digest
        case "name": keystore.keys[30].name = "k2"
        default:
            keystore.keys[2].name = "caf\u{E9}"
            keystore.keys[30].name = "cafe\u{301}"
        }
        let w = try world(keystore, stamps: [])
        let loaded = #expect(throws: KeyCtlError.self) { try KeystoreFile(path: w.keystore).load() }
        for window in [4 << 20, 1500] {
            w.system.listWindowSize = window
            let r = w.run(["list", "--json"])
            #expect(r.status == 65)
            #expect(r.stdout.isEmpty)
            // Up to the quoted value, which a printed message redacts.
            let message = try #require(loaded?.message).prefix { $0 != "'" }
            #expect(message.contains(" at line ") && r.stderr.contains(message), "\(r.stderr) vs \(message)")
        }
    }

    @Test(arguments: ["basic", "lifecycle", "rotated", "unicode", "empty"])
    func version1KeystoresListTheSame(fixture: String) throws {
        let w = World()
        w.now = Self.now
        w.write(String(decoding: try Repository.bytes("Tests/Fixtures/v1/\(fixture).json"), as: UTF8.self))
        try expectSameAsModel(w)
    }

    @Test func aCorruptKeystorePrintsNothing() throws {
        let (keystore, _) = Self.keystore(seed: 5, count: 300)
        let w = try world(keystore, stamps: [])
        var bytes = try #require(w.bytes())
        // Damage the last record: the first records are fine, and still nothing is printed.
        let at = try #require(bytes.lastIndex(of: UInt8(ascii: "{")))
        bytes[at + 1] = UInt8(ascii: "!")
        w.write(String(decoding: bytes, as: UTF8.self))
        let r = w.run(["list", "--json", "--all"])
        #expect(r.status == 65)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("KEYSTORE_CORRUPT"))
    }

    @Test func aClosedStdoutIsIOError() throws {
        let (keystore, _) = Self.keystore(seed: 6, count: 300)
        let w = try world(keystore, stamps: [])
        let before = w.bytes()
        w.stdoutWorks = false
        for arguments in [["list", "--json", "--all"], ["list", "--json", "--status", "revoked"]] {
            let r = w.run(arguments)
            #expect(r.status == 74)
            #expect(r.stderr.contains("IO_ERROR"))
        }
        #expect(w.bytes() == before)
    }

    // MARK: The table, streamed

    /// What the whole-keystore path prints for `list ARGS` without --json: load()
    /// (usage merged), newest first, filtered, the cells as that path made them, then
    /// ListCommand.table (on a terminal, coloured unless NO_COLOR) or tabSeparated.
    func tableModel(_ w: World, keep: (KeyRecord, KeyStatus) -> Bool) throws -> String {
        let records = ListCommand.newestFirst(try KeystoreFile(path: w.keystore).load().keys).filter { keep($0, $0.status(at: Self.now)) }
        guard !records.isEmpty else { return "" }
        let rows = records.map { r -> [String] in
            [
                r.id, Redaction.shown(r.name), r.environment.rawValue, r.permissions.names.joined(separator: ","), r.status(at: Self.now).rawValue,
                RFC3339.format(r.createdAt), r.expiresAt.map(RFC3339.format) ?? "never", r.lastUsedAt.map(RFC3339.format) ?? "never",
            ]
        }
        return w.terminal ? ListCommand.table(rows, color: w.environment["NO_COLOR"] == nil) : ListCommand.tabSeparated(rows)
    }

    /// Checks every filter, on a terminal (coloured and not) and into a pipe, in
    /// the default window and small ones, against the whole-keystore path.
    func expectTableSameAsModel(_ w: World, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (terminal, noColor) in [(false, false), (true, false), (true, true)] {
            w.terminal = terminal
            w.environment["NO_COLOR"] = noColor ? "1" : nil
            w.environment["TERM"] = "xterm"
            for window in [4 << 20, 4096, 1500] {
                w.system.listWindowSize = window
                for (arguments, keep) in Self.filters {
                    let r = w.run(["list"] + arguments)
                    #expect(r.status == 0, "\(arguments): \(r.stderr)", sourceLocation: sourceLocation)
                    let expected = try tableModel(w, keep: keep)
                    #expect(
                        r.stdout == expected, "list \(arguments) (terminal \(terminal), window \(window)) differs from the model",
                        sourceLocation: sourceLocation)
                    #expect(r.stdout.isEmpty == r.stderr.contains("no keys"), sourceLocation: sourceLocation)
                }
            }
        }
        w.terminal = false
        w.environment = [:]
        w.system.listWindowSize = SystemSeam().listWindowSize
    }

    /// The same fixtures as the --json differential: every field shape, unicode and
    /// wide names (the widths), out of time order, usage newer and older, a keystore
    /// not laid out by keyctl (the whole-keystore path), version 1 files, and none.
    @Test(arguments: [1, 2])
    func theStreamedTableIsTheWholeKeystoresByteForByte(seed: UInt64) throws {
        print("ListStreamTests table seed \(seed)")
        let (keystore, stamps) = Self.keystore(seed: seed, count: 300)
        let w = try world(keystore, stamps: stamps)
        #expect(try Self.takesWindowedWay(w.keystore, window: 4 << 20))
        try expectTableSameAsModel(w)
    }

    @Test func theTableOfOtherKeystoresIsTheWholeKeystoresToo() throws {
        var (keystore, stamps) = Self.keystore(seed: 4, count: 40)
        keystore.keys.reverse()
        let w = try world(keystore, stamps: stamps)
        try expectTableSameAsModel(w)
        let object = try JSONSerialization.jsonObject(with: Data(try #require(w.bytes())))
        w.write(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]), as: UTF8.self))
        try expectTableSameAsModel(w)
        for fixture in ["basic", "lifecycle", "rotated", "unicode", "empty"] {
            w.write(String(decoding: try Repository.bytes("Tests/Fixtures/v1/\(fixture).json"), as: UTF8.self))
            try expectTableSameAsModel(w)
        }
        let empty = try world(Keystore(prefix: "ls", maxKeys: 10, keys: []), stamps: [])
        let r = empty.run(["list"])
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.contains("no keys yet"))
    }

    // MARK: A keystore edited in place while list runs

    /// Writes `bytes` over the keystore at `offset`, in place (same inode, no rename).
    static func editInPlace(_ path: String, at offset: Int, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY)
        #expect(fd >= 0)
        #expect(pwrite(fd, bytes, bytes.count, off_t(offset)) == bytes.count)
        close(fd)
    }

    /// Where the `n`th record (in file order) has its name's first character.
    static func nameAt(record n: Int, in bytes: [UInt8], key: String = "\"name\":\"") throws -> Int {
        let text = Array(key.utf8)
        var found = -1, at = 0
        while found < n {
            at = try #require((at..<(bytes.count - text.count)).first { bytes[$0..<($0 + text.count)].elementsEqual(text) }) + text.count
            found += 1
        }
        return at
    }

    /// A keystore of 700 records in time order (newest first is the file backwards),
    /// whose `list --json --all` is several flushes long, its times set in the past,
    /// read in windows of 4096 bytes (so the output pass reads it again).
    func editableWorld() throws -> World {
        var (keystore, stamps) = Self.keystore(seed: 21, count: 700)
        for i in keystore.keys.indices {
            keystore.keys[i].createdAt = Self.now - 100_000 + Int64(i)
            keystore.keys[i].name = "svc \(i)"
        }
        let w = try world(keystore, stamps: stamps)
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, w.keystore, &times, 0) == 0)
        #expect(try Self.takesWindowedWay(w.keystore, window: 4 << 20))
        #expect(w.run(["list", "--json", "--all"]).stdout.utf8.count > 3 * ListStream.flushSize)
        w.system.listWindowSize = 4096
        return w
    }

    /// An edit in place between the check and the output (a name's letter, the same
    /// length; or bytes appended): the file's size or times differ from those it had
    /// when opened, so list fails before the first byte of output. keyctl 2 before
    /// this printed the edited, never checked name and exited 0.
    @Test(arguments: ["a name", "appended bytes"])
    func anEditBetweenThePassesFailsBeforeAnyOutput(edit: String) throws {
        let w = try editableWorld()
        let bytes = try #require(w.bytes())
        let at = edit == "a name" ? try Self.nameAt(record: 350, in: bytes) : bytes.count
        let path = w.keystore
        w.faultInjection = { step in if step == "list checked" { Self.editInPlace(path, at: at, Array("X".utf8)) } }
        let r = w.run(["list", "--json", "--all"])
        #expect(r.status == 74)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("changed while it was read; run the command again"), "\(r.stderr)")
        var edited = bytes
        if at < bytes.count { edited[at] = UInt8(ascii: "X") } else { edited.append(UInt8(ascii: "X")) }
        #expect(w.bytes() == edited, "list wrote nothing to the keystore")
    }

    /// An edit the file's size and times do not show (a write through a shared
    /// mapping, or within the file system's timestamp granularity: here the times are
    /// pinned by the seam): the record's hash sees it when that record is reached.
    /// Reached before the first flush (a record among the newest), nothing is on
    /// stdout; reached after (the oldest), stdout holds an array without its `]`, which
    /// no JSON parser takes, and the status is 74 all the same.
    @Test(arguments: [650, 0])
    func anEditTheTimesDoNotShowIsSeenByTheRecordsHash(record: Int) throws {
        let w = try editableWorld()
        let path = w.keystore
        w.system.statusOverride = { p, st in
            if p == path {
                st.st_mtim = timespec(tv_sec: 1_600_000_000, tv_nsec: 0)
                st.st_ctim = timespec(tv_sec: 1_600_000_000, tv_nsec: 0)
            }
        }
        let at = try Self.nameAt(record: record, in: try #require(w.bytes()))
        w.faultInjection = { step in if step == "list checked" { Self.editInPlace(path, at: at, Array("X".utf8)) } }
        let r = w.run(["list", "--json", "--all"])
        #expect(r.status == 74)
        #expect(r.stderr.contains("changed while it was read; run the command again"), "\(r.stderr)")
        if record == 650 {
            #expect(r.stdout.isEmpty)
        } else {
            #expect(r.stdout.hasPrefix("[{") && !r.stdout.hasSuffix("]\n"))
            #expect(r.stdout.utf8.count > ListStream.flushSize)
            #expect((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) == nil)
            #expect(!r.stdout.contains("\"name\":\"Xvc 0\""), "the edited record was never printed")
        }
    }

    /// A keystore that fits in one window is printed from the bytes that were checked:
    /// an edit in place between the passes changes nothing printed.
    @Test func aKeystoreInOneWindowPrintsWhatItChecked() throws {
        let w = try editableWorld()
        w.system.listWindowSize = SystemSeam().listWindowSize
        let expected = w.run(["list", "--json", "--all"])
        let path = w.keystore
        let at = try Self.nameAt(record: 0, in: try #require(w.bytes()))
        w.faultInjection = { step in if step == "list checked" { Self.editInPlace(path, at: at, Array("\u{1}".utf8)) } }
        let r = w.run(["list", "--json", "--all"])
        #expect(r.status == 0 && r.stdout == expected.stdout)
        #expect(w.bytes()?[at] == 1)
    }

    /// A keystore not in keyctl's layout goes the mapped way, which prints from its own
    /// copy of the file: an edit in place between the passes changes nothing printed.
    @Test func theMappedWayPrintsWhatItChecked() throws {
        let (keystore, stamps) = Self.keystore(seed: 22, count: 40)
        let w = try world(keystore, stamps: stamps)
        let object = try JSONSerialization.jsonObject(with: Data(try #require(w.bytes())))
        w.write(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]), as: UTF8.self))
        #expect(try !Self.takesWindowedWay(w.keystore, window: 4 << 20))
        let expected = w.run(["list", "--json", "--all"])
        #expect(expected.status == 0)
        let path = w.keystore
        let at = try Self.nameAt(record: 0, in: try #require(w.bytes()), key: "\"name\" : \"")
        w.faultInjection = { step in if step == "list checked" { Self.editInPlace(path, at: at, Array("\u{1}".utf8)) } }
        let r = w.run(["list", "--json", "--all"])
        #expect(r.status == 0 && r.stdout == expected.stdout)
    }

    @Test(arguments: [7, 8])
    func recordsAreWrittenAsTheTablesKeyPathsSay(seed: UInt64) {
        let (keystore, _) = Self.keystore(seed: seed, count: 300)
        for r in keystore.keys {
            for (now, version) in [(Optional(Self.now), 2), (nil, 2), (nil, 1)] {
                var fast = JSONWriter()
                RecordSchema.writeMembers(r, to: &fast, now: now, version: version)
                var reference = JSONWriter()
                Self.writeMembersByKeyPath(r, to: &reference, now: now, version: version)
                #expect(fast.bytes == reference.bytes)
            }
        }
    }

    /// The table read by its key paths, as writeMembers once did: the reference.
    static func writeMembersByKeyPath(_ r: KeyRecord, to w: inout JSONWriter, now: Timestamp?, version: Int = Keystore.currentVersion) {
        var first = true
        for spec in RecordSchema.fields where now == nil ? spec.stored && spec.since <= version : spec.json {
            w.key(spec.key, first: first)
            first = false
            switch spec.type {
            case .id(let path), .text(let path, _), .digest(let path), .hint(let path): w.string(r[keyPath: path])
            case .optionalText(let path, _), .link(let path): w.string(r[keyPath: path])
            case .environment(let path): w.string(r[keyPath: path].rawValue)
            case .permissions(let path): w.strings(r[keyPath: path].names)
            case .time(let path): w.time(r[keyPath: path])
            case .optionalTime(let path): w.time(r[keyPath: path])
            case .status: w.string(r.status(at: now ?? 0).rawValue)
            }
        }
    }
}
