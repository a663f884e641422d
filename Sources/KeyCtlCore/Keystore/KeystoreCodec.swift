// The keystore's JSON form, version 1:
//
//   {"version":1,"prefix":"ak","max_keys":10,"keys":[
//   {"id":"key_…","name":"ci","digest":"<64 hex>","hint":"ak_live_…Qx9Q",…},
//   …
//   ]}
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
        var w = JSONWriter(capacity: 128 + keystore.keys.count * 360)
        w.raw("{\"version\":")
        w.integer(keystore.version)
        w.key("prefix")
        w.string(keystore.prefix)
        w.key("max_keys")
        w.integer(keystore.maxKeys)
        if keystore.version >= 2 {
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

    /// One record exactly as `encode` writes it inside a keystore.
    public static func encode(_ record: KeyRecord) -> [UInt8] {
        var w = JSONWriter(capacity: 400)
        write(record, to: &w)
        return w.bytes
    }

    static func write(_ record: KeyRecord, to w: inout JSONWriter) {
        w.raw("{\"id\":")
        w.string(record.id)
        w.key("name")
        w.string(record.name)
        w.key("digest")
        w.string(record.digest)
        w.key("hint")
        w.string(record.hint)
        w.key("environment")
        w.string(record.environment.rawValue)
        w.key("permissions")
        w.strings(record.permissions.names)
        w.key("created_at")
        w.time(record.createdAt)
        w.key("expires_at")
        w.time(record.expiresAt)
        w.key("revoked_at")
        w.time(record.revokedAt)
        w.key("last_used_at")
        w.time(record.lastUsedAt)
        w.key("rotated_from")
        w.string(record.rotatedFrom)
        w.key("rotated_to")
        w.string(record.rotatedTo)
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

    /// Decodes one key record, exactly as it stands in a keystore, with nothing around it
    /// but whitespace. The index's byte ranges lead here.
    static func decodeRecord(_ bytes: UnsafeBufferPointer<UInt8>) throws(KeystoreFault) -> KeyRecord {
        try faults {
            var decoder = Decoder(reader: JSONReader(bytes), onlyDigest: nil)
            let raw = try decoder.record()
            try decoder.reader.end()
            return try decoder.build(raw, at: 0)
        }
    }

    public static func decode(_ bytes: [UInt8], onlyDigest: [UInt8]? = nil, canonicalFastPath: Bool = true) throws(KeystoreFault) -> Keystore {
        try bytes.withUnsafeBufferPointer { buffer throws(KeystoreFault) in
            try decode(buffer, onlyDigest: onlyDigest, canonicalFastPath: canonicalFastPath)
        }
    }

    struct Decoder {
        var reader: JSONReader
        let onlyDigest: [UInt8]?
        /// Off only in the differential tests, which compare the two readers.
        var canonicalFastPath = true
        /// When not nil, every record's digest and byte range is collected here.
        var entries: [KeystoreIndex.Entry]?

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
                            message: "keystore version \(v) is newer than this keyctl understands (\(Keystore.currentVersion))",
                            hint: "upgrade keyctl to use it; this keyctl will not change it")
                    }
                    version = v
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
            var out: [KeyRecord] = []
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
                let raw = try record()
                if !ids.insert(raw.id.range, in: reader.bytes) { throw fault("duplicate id '\(reader.text(raw.id))'", at: start) }
                if !digests.insert(raw.digest.range, in: reader.bytes) { throw fault("duplicate digest '\(reader.text(raw.digest))'", at: start) }
                if !raw.revoked && !names.insert(String(decoding: reader.unescaped(raw.name), as: UTF8.self)).inserted {
                    throw fault("two keys in use are named '\(reader.text(raw.name))'", at: start)
                }
                if entries != nil {
                    let hex = UnsafeBufferPointer(rebasing: reader.bytes[raw.digest.range])
                    entries!.append(KeystoreIndex.Entry(hex: hex, offset: start, length: reader.position - start))
                }
                if let onlyDigest {
                    guard constantTimeEqual(UnsafeBufferPointer(rebasing: reader.bytes[raw.digest.range]), onlyDigest) else { continue }
                }
                out.append(try build(raw, at: start))
            }
            return out
        }

        struct RawRecord {
            var id: JSONStringToken
            var name: JSONStringToken
            var digest: JSONStringToken
            var hint: JSONStringToken
            var environment: KeyEnvironment
            var permissions: Permissions
            var createdAt: Timestamp
            var expiresAt: Timestamp?
            var revokedAt: Timestamp?
            var lastUsedAt: Timestamp?
            var rotatedFrom: JSONStringToken?
            var rotatedTo: JSONStringToken?
            var revoked: Bool { revokedAt != nil }
        }

        /// Reads and checks one record, keeping its strings as byte ranges.
        mutating func record() throws -> RawRecord {
            if canonicalFastPath, let raw = canonicalRecord() { return raw }
            let start = reader.position
            try reader.expect(UInt8(ascii: "{"), "'{' at the start of a key record")
            var id: JSONStringToken?, name: JSONStringToken?, digest: JSONStringToken?, hint: JSONStringToken?
            var environment: KeyEnvironment?, permissions: Permissions?, createdAt: Timestamp?
            var expiresAt: Timestamp??, revokedAt: Timestamp??, lastUsedAt: Timestamp??
            var rotatedFrom: JSONStringToken??, rotatedTo: JSONStringToken??
            var first = true
            while try reader.nextMember(&first) {
                let keyStart = reader.position
                let field = try reader.key()
                let at = reader.position
                func twice() -> KeystoreFault { fault("field '\(reader.text(field))' appears twice in a key record", at: keyStart) }
                // Dispatch on length first: every field name has a distinct length but two.
                switch field.hasEscapes ? -1 : field.range.count {
                case 2 where reader.equals(field, "id"):
                    guard id == nil else { throw twice() }
                    let t = try reader.string()
                    guard !t.hasEscapes, Names.isValidID(UnsafeBufferPointer(rebasing: reader.bytes[t.range])) else {
                        throw fault("a key id is 'key_' followed by base62 digits", at: at)
                    }
                    id = t
                case 4 where reader.equals(field, "name"):
                    guard name == nil else { throw twice() }
                    let t = try reader.string()
                    if t.hasEscapes || t.range.isEmpty || t.range.count > Names.maxLength || containsControlBytes(t.range) {
                        if let problem = Names.storedProblem(with: reader.text(t)) { throw fault(problem, at: at) }
                    }
                    name = t
                case 6 where reader.equals(field, "digest"):
                    guard digest == nil else { throw twice() }
                    let t = try reader.string()
                    guard !t.hasEscapes, t.range.count == 64, Hex.isLowercase(UnsafeBufferPointer(rebasing: reader.bytes[t.range])) else {
                        throw fault("a digest is 64 lowercase hex digits (SHA-256)", at: at)
                    }
                    digest = t
                case 4 where reader.equals(field, "hint"):
                    guard hint == nil else { throw twice() }
                    let t = try reader.string()
                    guard t.range.count <= 64 else { throw fault("a hint has at most 64 bytes", at: at) }
                    // Printed by list and show: no control characters, so no terminal escapes.
                    if t.hasEscapes || containsControlBytes(t.range),
                        reader.text(t).unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
                    {
                        throw fault("a hint cannot contain control characters", at: at)
                    }
                    hint = t
                case 11 where reader.equals(field, "environment"):
                    guard environment == nil else { throw twice() }
                    let t = try reader.string()
                    if reader.equals(t, "live") {
                        environment = .live
                    } else if reader.equals(t, "test") {
                        environment = .test
                    } else {
                        throw fault("environment must be \"live\" or \"test\"", at: at)
                    }
                case 11 where reader.equals(field, "permissions"):
                    guard permissions == nil else { throw twice() }
                    permissions = try permissionList()
                case 10 where reader.equals(field, "created_at"):
                    guard createdAt == nil else { throw twice() }
                    createdAt = try time()
                case 10 where reader.equals(field, "expires_at"):
                    guard expiresAt == nil else { throw twice() }
                    expiresAt = reader.null() ? .some(nil) : try time()
                case 10 where reader.equals(field, "revoked_at"):
                    guard revokedAt == nil else { throw twice() }
                    revokedAt = reader.null() ? .some(nil) : try time()
                case 12 where reader.equals(field, "last_used_at"):
                    guard lastUsedAt == nil else { throw twice() }
                    lastUsedAt = reader.null() ? .some(nil) : try time()
                case 12 where reader.equals(field, "rotated_from"):
                    guard rotatedFrom == nil else { throw twice() }
                    rotatedFrom = reader.null() ? .some(nil) : try idReference()
                case 10 where reader.equals(field, "rotated_to"):
                    guard rotatedTo == nil else { throw twice() }
                    rotatedTo = reader.null() ? .some(nil) : try idReference()
                default:
                    throw fault("unknown field '\(reader.text(field))' in a key record", at: keyStart)
                }
            }
            func missing(_ field: String) -> KeystoreFault { fault("key record lacks field '\(field)'", at: start) }
            guard let id else { throw missing("id") }
            guard let name else { throw missing("name") }
            guard let digest else { throw missing("digest") }
            guard let hint else { throw missing("hint") }
            guard let environment else { throw missing("environment") }
            guard let permissions else { throw missing("permissions") }
            guard let createdAt else { throw missing("created_at") }
            return RawRecord(
                id: id, name: name, digest: digest, hint: hint, environment: environment, permissions: permissions,
                createdAt: createdAt, expiresAt: expiresAt ?? nil, revokedAt: revokedAt ?? nil, lastUsedAt: lastUsedAt ?? nil,
                rotatedFrom: rotatedFrom ?? nil, rotatedTo: rotatedTo ?? nil)
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

        func build(_ raw: RawRecord, at offset: Int) throws -> KeyRecord {
            KeyRecord(
                id: reader.text(raw.id), name: reader.text(raw.name), digest: reader.text(raw.digest), hint: reader.text(raw.hint),
                environment: raw.environment, permissions: raw.permissions, createdAt: raw.createdAt, expiresAt: raw.expiresAt,
                revokedAt: raw.revokedAt, lastUsedAt: raw.lastUsedAt, rotatedFrom: raw.rotatedFrom.map(reader.text),
                rotatedTo: raw.rotatedTo.map(reader.text))
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
