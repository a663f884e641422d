// The keystore's JSON form, version 2:
//
//   {"version":2,"prefix":"ak","max_keys":10,"log":{"seq":7,"hash":"<64 hex>"},"keys":[
//   {"id":"key_…","name":"ci","description":null,"digest":"<64 hex>","hint":"ak_live_…Qx9Q",…},
//   …
//   ]}
//
// A record's fields, their order and their rules come from RecordSchema. Version 1
// (keyctl 1.0) is the same without "log" and without "description"; it is read, and
// written as version 2 by the first change (KeystoreFile keeps the old file as PATH.v1).
// `log` is the head of the audit log: null only before the log has an entry.
//
// One record a line, so the file diffs and greps well. Decoding is strict: an
// unknown or repeated field, a wrong type, a bad value, a duplicate id or digest,
// or two keys in use under one name make the whole file corrupt — keyctl never
// guesses, and never overwrites what it cannot read.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

public struct KeystoreFault: Error, Equatable {
    /// Byte offset of the fault, when it has one.
    public var offset: Int?
    public var message: String
    /// What to do, when it is not "fix it by hand or restore a backup".
    public var hint: String?

    public init(offset: Int?, message: String, hint: String? = nil) {
        self.offset = offset
        self.message = message
        self.hint = hint
    }
}

public enum KeystoreCodec {
    // MARK: Encoding

    public static func encode(_ keystore: Keystore) -> [UInt8] {
        var w = JSONWriter(capacity: 200 + keystore.keys.count * 380)
        w.raw("{\"version\":")
        w.integer(Keystore.currentVersion)
        w.key("prefix")
        w.string(keystore.prefix)
        w.key("max_keys")
        w.integer(keystore.maxKeys)
        // Always version 2, so always its "log" field: a version 1 keystore read and
        // encoded as it is (no write does that: the upgrade sets the head first) must
        // still decode. Found by Tests/Fuzz (keystore target).
        w.key("log")
        if let head = keystore.log {
            w.raw("{\"seq\":")
            w.integer(Int(head.seq))
            w.key("hash")
            w.string(head.hash)
            if let file = head.file {
                w.key("size")
                w.integer(Int(file.size))
                w.key("inode")
                w.integer(Int(file.inode))
                w.key("ctime")
                w.integer(Int(file.ctime))
            }
            w.raw("}")
        } else {
            w.raw("null")
        }
        w.raw(",\"keys\":[\n")
        for (i, record) in keystore.keys.enumerated() {
            if i > 0 { w.raw(",\n") }
            write(record, to: &w)
        }
        if !keystore.keys.isEmpty { w.raw("\n") }
        w.raw("]}\n")
        return w.bytes
    }

    /// One record exactly as `encode` writes it inside a keystore of format `version`.
    public static func encode(_ record: KeyRecord, version: Int = Keystore.currentVersion) -> [UInt8] {
        var w = JSONWriter(capacity: 400)
        write(record, to: &w, version: version)
        return w.bytes
    }

    static func write(_ record: KeyRecord, to w: inout JSONWriter, version: Int = Keystore.currentVersion) {
        w.raw("{")
        RecordSchema.writeMembers(record, to: &w, now: nil, version: version)
        w.raw("}")
    }

    // MARK: Decoding

    /// Decodes and checks a whole keystore.
    ///
    /// With `onlyDigest` (64 lowercase hex bytes), every record is still read and
    /// checked, but only the records with that digest are built and returned in
    /// `keys`: the fast path of `verify`, which needs one record, not thousands.
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, onlyDigest: [UInt8]? = nil, canonicalFastPath: Bool = true) throws(KeystoreFault)
        -> Keystore
    {
        try faults {
            var decoder = Decoder(reader: JSONReader(bytes), onlyDigest: onlyDigest, canonicalFastPath: canonicalFastPath)
            return try decoder.keystore()
        }
    }

    /// `decode` with `onlyDigest`, its records checked in `chunks` parts (KeystoreCheck.swift)
    /// however small the file: for the tests that hold it to the serial reader. Also
    /// says how many records the canonical check or scanner took.
    static func decodeChecked(_ bytes: [UInt8], onlyDigest: [UInt8], chunks: Int) throws(KeystoreFault) -> (Keystore, fastPathRecords: Int) {
        try bytes.withUnsafeBufferPointer { buffer throws(KeystoreFault) in
            try faults {
                var decoder = Decoder(reader: JSONReader(buffer), onlyDigest: onlyDigest)
                decoder.chunks = chunks
                let keystore = try decoder.keystore()
                return (keystore, decoder.fastPathRecords)
            }
        }
    }

    /// Runs a decoder, turning a syntax error into a KeystoreFault at the same offset.
    static func faults<T>(_ body: () throws -> T) throws(KeystoreFault) -> T {
        do {
            return try body()
        } catch let error as JSONSyntaxError {
            throw KeystoreFault(offset: error.offset, message: error.message)
        } catch let error as KeystoreFault {
            throw error
        } catch {
            throw KeystoreFault(offset: nil, message: "\(error)")
        }
    }

    /// Decodes and checks a whole keystore like `decode`, and also returns where each
    /// record lies, for KeystoreIndex.
    static func decodeForIndex(_ bytes: UnsafeBufferPointer<UInt8>, onlyDigest: [UInt8]?) throws(KeystoreFault) -> (Keystore, [KeystoreIndex.Entry]) {
        try faults {
            var decoder = Decoder(reader: JSONReader(bytes), onlyDigest: onlyDigest)
            decoder.entries = []
            let keystore = try decoder.keystore()
            return (keystore, decoder.entries ?? [])
        }
    }

    /// Decodes and checks a whole keystore like `decode`, and also returns each
    /// record's byte range, for a write that keeps the bytes of unchanged records.
    static func decodeForWrite(_ bytes: UnsafeBufferPointer<UInt8>) throws(KeystoreFault) -> (Keystore, [Range<Int>]) {
        try faults {
            var decoder = Decoder(reader: JSONReader(bytes), onlyDigest: nil)
            decoder.ranges = []
            decoder.ranges!.reserveCapacity(bytes.count / 300 + 16)
            let keystore = try decoder.keystore()
            return (keystore, decoder.ranges ?? [])
        }
    }

    /// Checks a whole keystore like `decode` and builds no record: the settings, and
    /// where each record lies with its created_at (a streamed `list`).
    static func decodeSpans(_ bytes: UnsafeBufferPointer<UInt8>) throws(KeystoreFault) -> (Keystore, [RecordSpan]) {
        try faults {
            var decoder = Decoder(reader: JSONReader(bytes), onlyDigest: [])
            decoder.spans = []
            decoder.spans!.reserveCapacity(bytes.count / 300 + 16)
            let keystore = try decoder.keystore()
            return (keystore, decoder.spans ?? [])
        }
    }

    /// Decodes one key record, exactly as it stands in a keystore, with nothing around it
    /// but whitespace. The index's byte ranges lead here.
    static func decodeRecord(_ bytes: UnsafeBufferPointer<UInt8>) throws(KeystoreFault) -> KeyRecord {
        try faults {
            var decoder = Decoder(reader: JSONReader(bytes), onlyDigest: nil)
            try decoder.record()
            try decoder.reader.end()
            return decoder.build()
        }
    }

    public static func decode(_ bytes: [UInt8], onlyDigest: [UInt8]? = nil, canonicalFastPath: Bool = true) throws(KeystoreFault) -> Keystore {
        try bytes.withUnsafeBufferPointer { buffer throws(KeystoreFault) in
            try decode(buffer, onlyDigest: onlyDigest, canonicalFastPath: canonicalFastPath)
        }
    }

    /// Decodes like `decode` and counts the records the fast scanner took. The pin
    /// tests hold it to every record keyctl writes (CanonicalReaderTests).
    static func decodeCountingFastPath(_ bytes: [UInt8]) throws(KeystoreFault) -> (Keystore, fastPathRecords: Int) {
        try bytes.withUnsafeBufferPointer { buffer throws(KeystoreFault) in
            try faults {
                var decoder = Decoder(reader: JSONReader(buffer), onlyDigest: nil)
                let keystore = try decoder.keystore()
                return (keystore, decoder.fastPathRecords)
            }
        }
    }

    struct Decoder {
        var reader: JSONReader
        let onlyDigest: [UInt8]?
        /// Off only in the differential tests, which compare the two readers.
        var canonicalFastPath = true
        /// The format version the records are in: the file's, once read.
        var layoutVersion = Keystore.currentVersion
        /// Records the fast scanner (or the canonical check) took.
        var fastPathRecords = 0
        /// How many parts the records are checked in; nil: by the file's size (KeystoreCheck).
        var chunks: Int?
        /// The record being read: one value per stored field (RecordSchema.stored).
        var raw = RawRecord()
        let steps = RecordSchema.steps
        /// When not nil, every record's digest and byte range is collected here.
        var entries: [KeystoreIndex.Entry]?
        /// When not nil, every record's byte range and created_at is collected here
        /// (a streamed `list`, ListStream.swift).
        var spans: [RecordSpan]?
        /// When not nil, every record's byte range is collected here (a write).
        var ranges: [Range<Int>]?

        func fault(_ message: String, at offset: Int) -> KeystoreFault {
            KeystoreFault(offset: offset, message: message)
        }

        mutating func keystore() throws -> Keystore {
            var version: Int64?
            var prefix: String?
            var maxKeys: Int64?
            var keys: [KeyRecord]?
            var log: LogHead??
            guard reader.peek() != nil else { throw fault("the file is empty", at: 0) }
            try reader.expect(UInt8(ascii: "{"), "'{' at the start of the keystore")
            var first = true
            while try reader.nextMember(&first) {
                let keyStart = reader.position
                let name = try reader.key()
                let valueStart = reader.position
                if reader.equals(name, "version") {
                    guard version == nil else { throw fault("field 'version' appears twice", at: keyStart) }
                    let v = try reader.integer()
                    guard v >= 1 else { throw fault("version \(v) is not a keyctl keystore version", at: valueStart) }
                    guard v <= Int64(Keystore.currentVersion) else {
                        throw KeystoreFault(
                            offset: valueStart,
                            message: "keystore version \(v) was written by a newer keyctl (this one reads versions 1-\(Keystore.currentVersion))",
                            hint: "upgrade keyctl to use it; this keyctl will not change it")
                    }
                    version = v
                    layoutVersion = Int(v)
                } else if reader.equals(name, "prefix") {
                    guard prefix == nil else { throw fault("field 'prefix' appears twice", at: keyStart) }
                    let p = reader.text(try reader.string())
                    guard Names.isValidPrefix(p) else { throw fault("prefix must be 2-10 lowercase letters or digits", at: valueStart) }
                    prefix = p
                } else if reader.equals(name, "max_keys") {
                    guard maxKeys == nil else { throw fault("field 'max_keys' appears twice", at: keyStart) }
                    let m = try reader.integer()
                    guard Keystore.maxKeysRange.contains(Int(clamping: m)) else {
                        throw fault("max_keys must be \(Keystore.maxKeysRange.lowerBound)-\(Keystore.maxKeysRange.upperBound)", at: valueStart)
                    }
                    maxKeys = m
                } else if reader.equals(name, "log") {
                    guard log == nil else { throw fault("field 'log' appears twice", at: keyStart) }
                    log = reader.null() ? .some(nil) : try logHead()
                } else if reader.equals(name, "keys") {
                    guard keys == nil else { throw fault("field 'keys' appears twice", at: keyStart) }
                    keys = try records()
                } else {
                    throw fault("unknown field '\(reader.text(name))'", at: keyStart)
                }
            }
            try reader.end()
            let end = reader.bytes.count
            guard version != nil else { throw fault("field 'version' is missing", at: end) }
            guard let prefix else { throw fault("field 'prefix' is missing", at: end) }
            guard let maxKeys else { throw fault("field 'max_keys' is missing", at: end) }
            guard let keys else { throw fault("field 'keys' is missing", at: end) }
            if version! >= 2 && log == nil { throw fault("field 'log' is missing", at: end) }
            if version! < 2 && log != nil { throw fault("field 'log' is not part of a version 1 keystore", at: end) }
            var keystore = Keystore(prefix: prefix, maxKeys: Int(maxKeys), keys: keys)
            keystore.version = Int(version!)
            keystore.log = log ?? nil
            return keystore
        }

        /// `{"seq":N,"hash":"<64 lowercase hex>"}`: the audit log's head.
        mutating func logHead() throws -> LogHead {
            let start = reader.position
            try reader.expect(UInt8(ascii: "{"), "'{' or null after \"log\":")
            var seq: Int64?
            var hash: String?
            var size: Int64?, inode: Int64?, ctime: Int64?
            var first = true
            while try reader.nextMember(&first) {
                let keyStart = reader.position
                let name = try reader.key()
                let at = reader.position
                if reader.equals(name, "seq") && seq == nil {
                    let n = try reader.integer()
                    guard n >= 1 else { throw fault("the log's seq starts at 1", at: at) }
                    seq = n
                } else if reader.equals(name, "hash") && hash == nil {
                    let t = try reader.string()
                    guard !t.hasEscapes, t.range.count == 64, Hex.isLowercase(UnsafeBufferPointer(rebasing: reader.bytes[t.range])) else {
                        throw fault("the log's hash is 64 lowercase hex digits (SHA-256)", at: at)
                    }
                    hash = reader.text(t)
                } else if reader.equals(name, "size") && size == nil {
                    size = try reader.integer()
                } else if reader.equals(name, "inode") && inode == nil {
                    inode = try reader.integer()
                } else if reader.equals(name, "ctime") && ctime == nil {
                    ctime = try reader.integer()
                } else {
                    throw fault("unexpected field '\(reader.text(name))' in \"log\"", at: keyStart)
                }
            }
            guard let seq, let hash else { throw fault("\"log\" needs \"seq\" and \"hash\"", at: start) }
            // The file's identity is a cache: all three fields or none.
            var file: LogFileIdentity?
            if let size, let inode, let ctime {
                file = LogFileIdentity(size: size, inode: inode, ctime: ctime)
            } else if size != nil || inode != nil || ctime != nil {
                throw fault("\"log\" has \"size\", \"inode\" and \"ctime\" together or none of them", at: start)
            }
            return LogHead(seq: seq, hash: hash, file: file)
        }

        mutating func records() throws -> [KeyRecord] {
            // Looking for one record (or none): check every record without building it.
            // Any fault, and the serial loop below reads the array again and reports it.
            if canonicalFastPath, onlyDigest != nil, let out = checkedRecords(chunks: chunks) { return out }
            var out: [KeyRecord] = []
            // A record keyctl writes is about 380 bytes: room for all at once, so the
            // array is not copied as it grows (pages never touched cost nothing).
            if onlyDigest == nil { out.reserveCapacity(reader.bytes.count / 300 + 16) }
            // Identity checks across records: ids and digests are unique; a name
            // belongs to at most one key in use. Ids and digests go through a flat
            // hash table of byte ranges (no allocation per record); names of keys in
            // use are few and may be escaped, so they are compared as text.
            let expected = reader.bytes.count / 256 + 16
            var ids = RangeSet(expectedCount: expected)
            var digests = RangeSet(expectedCount: expected)
            // Compared as Swift strings: equal under Unicode canonical equivalence (NFC and
            // NFD spellings of one name are one name), as `create` compares them.
            var names = Set<String>()
            try reader.expect(UInt8(ascii: "["), "'[' after \"keys\":")
            var first = true
            while try reader.nextElement(&first) {
                let start = reader.position
                try record()
                let id = raw.id, digest = raw.digest
                if !ids.insert(id.range, in: reader.bytes) { throw fault("duplicate id '\(reader.text(id))'", at: start) }
                if !digests.insert(digest.range, in: reader.bytes) { throw fault("duplicate digest '\(reader.text(digest))'", at: start) }
                if raw.isInUse && !names.insert(String(decoding: reader.unescaped(raw.name), as: UTF8.self)).inserted {
                    throw fault("two keys in use are named '\(reader.text(raw.name))'", at: start)
                }
                if entries != nil {
                    let hex = UnsafeBufferPointer(rebasing: reader.bytes[digest.range])
                    entries!.append(KeystoreIndex.Entry(hex: hex, offset: start, length: reader.position - start))
                }
                if ranges != nil { ranges!.append(start..<reader.position) }
                if spans != nil, case .time(let created) = raw.values[RecordSpan.createdAtSlot] {
                    spans!.append(RecordSpan(offset: UInt32(start), length: UInt32(reader.position - start), createdAt: created))
                }
                if let onlyDigest {
                    guard constantTimeEqual(UnsafeBufferPointer(rebasing: reader.bytes[digest.range]), onlyDigest) else { continue }
                }
                out.append(build())
            }
            return out
        }

        /// One stored value of the record being read.
        enum FieldValue {
            case absent, null
            case string(JSONStringToken)
            case time(Timestamp)
            case environment(KeyEnvironment)
            case permissions(Permissions)

            var token: JSONStringToken? {
                if case .string(let t) = self { return t }
                return nil
            }
        }

        /// A record's values as read, strings kept as byte ranges: one per stored field,
        /// in RecordSchema.stored order. The decoder reuses one, so reading a record
        /// allocates nothing.
        struct RawRecord {
            var values = [FieldValue](repeating: .absent, count: RecordSchema.stored.count)
            var id: JSONStringToken { values[RecordSchema.idSlot].token! }
            var name: JSONStringToken { values[RecordSchema.nameSlot].token! }
            var digest: JSONStringToken { values[RecordSchema.digestSlot].token! }
            /// Counts toward the limit and owns its name: not revoked, not retiring.
            var isInUse: Bool {
                if case .time = values[RecordSchema.revokedAtSlot] { return false }
                return true
            }
        }

        /// Reads and checks one record into `raw`.
        mutating func record() throws {
            if canonicalFastPath, canonicalRecord() {
                fastPathRecords += 1
                return
            }
            let start = reader.position
            try reader.expect(UInt8(ascii: "{"), "'{' at the start of a key record")
            for i in raw.values.indices { raw.values[i] = .absent }
            var first = true
            while try reader.nextMember(&first) {
                let keyStart = reader.position
                let field = try reader.key()
                let at = reader.position
                guard !field.hasEscapes, let i = RecordSchema.storedSlot(key: UnsafeBufferPointer(rebasing: reader.bytes[field.range])) else {
                    throw fault("unknown field '\(reader.text(field))' in a key record", at: keyStart)
                }
                let step = steps[i]
                guard case .absent = raw.values[i] else {
                    throw fault("field '\(reader.text(field))' appears twice in a key record", at: keyStart)
                }
                if step.nullable && reader.null() {
                    raw.values[i] = .null
                    continue
                }
                raw.values[i] = try value(step, at: at)
            }
            for (i, step) in steps.enumerated() where !step.nullable {
                guard case .absent = raw.values[i] else { continue }
                throw fault("key record lacks field '\(step.field.spec.name)'", at: start)
            }
        }

        /// Reads and checks one value of the kind `step` says.
        mutating func value(_ step: FieldStep, at: Int) throws -> FieldValue {
            switch step.kind {
            case .id:
                let t = try reader.string()
                guard !t.hasEscapes, Names.isValidID(UnsafeBufferPointer(rebasing: reader.bytes[t.range])) else {
                    throw fault("a key id is 'key_' followed by base62 digits", at: at)
                }
                return .string(t)
            case .link:
                return .string(try idReference())
            case .text:
                let t = try reader.string()
                let n = t.range.count
                if t.hasEscapes || n > step.maxBytes || n < step.minBytes || containsControlBytes(t.range) {
                    if let problem = step.rule?.storedProblem(reader.text(t)) { throw fault(problem, at: at) }
                }
                return .string(t)
            case .digest:
                let t = try reader.string()
                guard !t.hasEscapes, t.range.count == 64, Hex.isLowercase(UnsafeBufferPointer(rebasing: reader.bytes[t.range])) else {
                    throw fault("a digest is 64 lowercase hex digits (SHA-256)", at: at)
                }
                return .string(t)
            case .hint:
                let t = try reader.string()
                guard t.range.count <= 64 else { throw fault("a hint has at most 64 bytes", at: at) }
                // Printed by list and show: no control characters, so no terminal escapes.
                if t.hasEscapes || containsControlBytes(t.range),
                    reader.text(t).unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
                {
                    throw fault("a hint cannot contain control characters", at: at)
                }
                return .string(t)
            case .environment:
                let t = try reader.string()
                if reader.equals(t, "live") { return .environment(.live) }
                if reader.equals(t, "test") { return .environment(.test) }
                throw fault("environment must be \"live\" or \"test\"", at: at)
            case .permissions:
                return .permissions(try permissionList())
            case .time:
                return .time(try time())
            }
        }

        func containsControlBytes(_ range: Range<Int>) -> Bool {
            var previous: UInt8 = 0
            for i in range {
                let c = reader.bytes[i]
                // C0 controls cannot appear unescaped; DEL and C1 controls (U+0080-U+009F) can.
                if c == 0x7f || (previous == 0xC2 && c >= 0x80 && c <= 0x9F) { return true }
                previous = c
            }
            return false
        }

        mutating func time() throws -> Timestamp {
            let at = reader.position
            let t = try reader.string()
            guard !t.hasEscapes, let value = RFC3339.parse(UnsafeBufferPointer(rebasing: reader.bytes[t.range])) else {
                throw fault("expected an RFC 3339 time such as \"2027-01-01T00:00:00Z\"", at: at)
            }
            return value
        }

        mutating func idReference() throws -> JSONStringToken {
            let at = reader.position
            let t = try reader.string()
            guard !t.hasEscapes, Names.isValidID(UnsafeBufferPointer(rebasing: reader.bytes[t.range])) else {
                throw fault("a rotation link is a key id or null", at: at)
            }
            return t
        }

        mutating func permissionList() throws -> Permissions {
            let at = reader.position
            try reader.expect(UInt8(ascii: "["), "'[' (a list of permissions)")
            var set = Permissions()
            var first = true
            while try reader.nextElement(&first) {
                let itemAt = reader.position
                let t = try reader.string()
                if reader.equals(t, "read") {
                    set.insert(.read)
                } else if reader.equals(t, "write") {
                    set.insert(.write)
                } else if reader.equals(t, "admin") {
                    set.insert(.admin)
                } else if reader.equals(t, "webhook") {
                    set.insert(.webhook)
                } else {
                    throw fault("unknown permission '\(reader.text(t))' (read, write, admin, webhook)", at: itemAt)
                }
            }
            guard !set.isEmpty else { throw fault("a key has at least one permission", at: at) }
            return set
        }

        /// The KeyRecord of the values in `raw`.
        func build() -> KeyRecord {
            var r = KeyRecord(id: "", name: "", digest: "", hint: "", environment: .live, permissions: .read, createdAt: 0)
            for i in 0..<steps.count {
                let value = raw.values[i]
                // Set directly, never through the table's key paths: making them costs
                // more than the rest of a settled verify (RecordField.type).
                switch steps[i].field {
                case .id: r.id = text(value) ?? ""
                case .name: r.name = text(value) ?? ""
                case .digest: r.digest = text(value) ?? ""
                case .hint: r.hint = text(value) ?? ""
                case .rotatedFrom: r.rotatedFrom = text(value)
                case .rotatedTo: r.rotatedTo = text(value)
                case .environment: if case .environment(let e) = value { r.environment = e }
                case .permissions: if case .permissions(let p) = value { r.permissions = p }
                case .createdAt: if case .time(let t) = value { r.createdAt = t }
                case .expiresAt: if case .time(let t) = value { r.expiresAt = t }
                case .revokedAt: if case .time(let t) = value { r.revokedAt = t }
                case .lastUsedAt: if case .time(let t) = value { r.lastUsedAt = t }
                case .description: r.description = text(value)
                case .status: break
                }
            }
            return r
        }

        @inline(__always) func text(_ value: FieldValue) -> String? {
            guard case .string(let t) = value else { return nil }
            return reader.text(t)
        }
    }
}

/// A set of byte ranges of one buffer, compared by content: open addressing over
/// a power-of-two table whose slots hold the range itself (start and length packed
/// in one word, 0 for empty), so a probe touches one cache line. Used for the
/// uniqueness of ids and digests, which must cost next to nothing per record.
struct RangeSet {
    private var slots: [UInt64]
    private var count = 0
    private var mask: Int

    init(expectedCount: Int) {
        var capacity = 16
        while capacity < expectedCount * 2 { capacity <<= 1 }
        slots = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    /// Ids and digests are random where it matters: their first and last eight
    /// bytes hash well enough, and a collision only costs a memcmp.
    @inline(__always) static func hash(_ start: Int, _ length: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let base = UnsafeRawPointer(bytes.baseAddress!) + start
        var h = UInt64(length) &* 0x9E37_79B9_7F4A_7C15
        if length >= 8 {
            h ^= base.loadUnaligned(as: UInt64.self)
            h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
            h ^= base.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
        } else {
            for i in 0..<length { h = (h ^ UInt64(base.load(fromByteOffset: i, as: UInt8.self))) &* 0x100_0000_01B3 }
        }
        h = (h ^ (h >> 32)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// False if an equal range is already in the set. Ranges start after offset 0
    /// (a keystore begins with '{'), so a packed range is never 0.
    mutating func insert(_ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if count * 2 >= slots.count { grow(bytes) }
        let start = range.lowerBound, length = range.count
        var i = RangeSet.hash(start, length, in: bytes) & mask
        while slots[i] != 0 {
            let otherStart = Int(slots[i] >> 32), otherLength = Int(slots[i] & 0xFFFF_FFFF)
            if otherLength == length && memcmp(bytes.baseAddress! + otherStart, bytes.baseAddress! + start, length) == 0 {
                return false
            }
            i = (i + 1) & mask
        }
        slots[i] = UInt64(start) << 32 | UInt64(length)
        count += 1
        return true
    }

    private mutating func grow(_ bytes: UnsafeBufferPointer<UInt8>) {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for packed in old where packed != 0 {
            var i = RangeSet.hash(Int(packed >> 32), Int(packed & 0xFFFF_FFFF), in: bytes) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = packed
        }
    }
}
