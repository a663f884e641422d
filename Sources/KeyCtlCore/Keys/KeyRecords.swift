// A keystore's records, in order. Every record reads as a KeyRecord, wherever it is
// read; how it is held is this file's business:
//
// - built: a KeyRecord (every keystore a reader loads, every record a command made
//   or changed);
// - stored: the record's bytes in the mapped keystore file a write read (KeystoreBytes),
//   with no String made. A write keeps this way every record whose `revoked_at` is set
//   and whose bytes are in keyctl's exact layout (the canonical scanner took them).
//   Reading such an element builds it from its bytes (KeystoreCodec.decodeRecord, the
//   same values the whole-file reader gives); writing it makes it built.
//
// Why `revoked_at` set, not "revoked at the command's now": no rule a write applies
// looks inside such a record unless it is named. It is never in use (isInUse is
// `revokedAt == nil`), so it owns no name and does not count toward the limit; it is
// never due for rotation (active or expired only). The clock does not matter: a record
// whose revoked_at is still ahead (retiring) is built when revoke or rotate reads it,
// and answers its status from its fields as any record does. The hot paths of a write
// (names, the in-use count, an id, what changed, the splice, the audit entry, and
// NOT_FOUND's hint) go through `inUseIndices`, `index(ofID:)`, `hasSameID`, `isSame`
// and `contains(named:)` below and so never build a stored record; anything else
// that reads one (prune's choice, a reader of a record named by id, a full encode)
// builds it and gets the right answer.
//
// On 100,000 records (most revoked, as a keystore with years of history is) a write
// so holds 16 bytes per record besides the mapping, instead of a KeyRecord (about 200
// bytes and seven Strings).

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

/// A keystore file's bytes for as long as a record is kept in them: mapped (and
/// unmapped when the last holder goes), or a copy when it could not be mapped.
final class KeystoreBytes: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<UInt8>
    private let mapped: Bool
    /// How many times a record kept in these bytes was built (KeyRecords.record(stored:)):
    /// how tests see that a path builds none. Records are built on one thread only (the
    /// concurrent readers read bytes), so a plain count.
    var recordsBuilt = 0

    /// Takes over a mapping of `count` bytes at `base`.
    init(mapping base: UnsafeRawPointer, count: Int) {
        buffer = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)
        mapped = true
    }

    init(copying bytes: [UInt8]) {
        let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        _ = copy.initialize(from: bytes)
        buffer = UnsafeBufferPointer(start: copy.baseAddress, count: bytes.count)
        mapped = false
    }

    deinit {
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: buffer.baseAddress), buffer.count)
        } else {
            buffer.deallocate()
        }
    }

    var raw: UnsafeRawBufferPointer { UnsafeRawBufferPointer(buffer) }
}

public struct KeyRecords: RandomAccessCollection, MutableCollection, RangeReplaceableCollection, ExpressibleByArrayLiteral, Equatable, Sendable {
    /// Where element i is: `built[Int(offset)]` when `length` is 0, else `length`
    /// bytes at `offset` in `file`. A stored record's revoked_at value (its opening
    /// quote) is at `revokedAt` in `file`; `expiresAt` is its expires_at's when the
    /// record was rotated and expires (KeyRecord.revokedSince is then the earlier of
    /// the two), else 0. Times are parsed only when asked for (prune).
    struct Slot: Equatable {
        var offset: UInt32
        var length: UInt32
        var revokedAt: UInt32 = 0
        var expiresAt: UInt32 = 0

        var isStored: Bool { length != 0 }
    }

    /// Every element, when `slots` is nil; else the built elements `slots` point at
    /// (and any a change left behind, pointed at by none).
    private var built: [KeyRecord]
    private var slots: [Slot]?
    private var file: KeystoreBytes?

    public init() { built = [] }

    public init(_ records: [KeyRecord]) { built = records }

    public init<S: Sequence>(_ records: S) where S.Element == KeyRecord { built = Array(records) }

    public init(arrayLiteral records: KeyRecord...) { built = records }

    // MARK: Collection

    public var startIndex: Int { 0 }
    public var endIndex: Int { slots?.count ?? built.count }

    public subscript(i: Int) -> KeyRecord {
        get {
            guard let slots else { return built[i] }
            let slot = slots[i]
            return slot.isStored ? record(stored: slot) : built[Int(slot.offset)]
        }
        set {
            guard slots != nil else {
                built[i] = newValue
                return
            }
            let slot = slots![i]
            if slot.isStored {
                slots![i] = Slot(offset: UInt32(built.count), length: 0)
                built.append(newValue)
            } else {
                built[Int(slot.offset)] = newValue
            }
        }
        // In place, as an array's element is (`load` merges usage into every record).
        _modify {
            guard slots != nil else {
                yield &built[i]
                return
            }
            let slot = slots![i]
            if slot.isStored {
                built.append(record(stored: slot))
                slots![i] = Slot(offset: UInt32(built.count - 1), length: 0)
            }
            yield &built[Int(slots![i].offset)]
        }
    }

    public mutating func replaceSubrange<C: Collection>(_ range: Range<Int>, with records: C) where C.Element == KeyRecord {
        guard slots != nil else {
            built.replaceSubrange(range, with: records)
            return
        }
        let first = built.count
        built.append(contentsOf: records)
        slots!.replaceSubrange(range, with: (first..<built.count).map { Slot(offset: UInt32($0), length: 0) })
    }

    public mutating func reserveCapacity(_ n: Int) {
        if slots != nil { slots!.reserveCapacity(n) } else { built.reserveCapacity(n) }
    }

    /// Every record built, in order (the array itself when none is stored).
    public var all: [KeyRecord] { slots == nil ? built : Array(self) }

    /// Removes the elements at `indices` (ascending), building none.
    public mutating func remove(at indices: [Int]) {
        guard !indices.isEmpty else { return }
        var next = 0
        func keep(_ i: Int) -> Bool {
            guard next < indices.count, indices[next] == i else { return true }
            next += 1
            return false
        }
        if slots != nil {
            slots = slots!.indices.filter(keep).map { slots![$0] }
        } else {
            built = built.indices.filter(keep).map { built[$0] }
        }
    }

    // MARK: Stored records

    /// The records of `spans` (checked record bytes in `file`, in order) as they are
    /// read for a write: each kept as its bytes if its revoked_at is set and it ends
    /// and begins as keyctl lays a record out (`Tail`), else built. nil when a record
    /// cannot be read alone (never for bytes the whole-file check passed; the caller
    /// then reads the file the old way).
    static func reading(_ spans: [Range<Int>], in file: KeystoreBytes) -> KeyRecords? {
        guard let base = file.buffer.baseAddress, file.buffer.count <= Int(UInt32.max) else { return nil }
        var slots = [Slot](repeating: Slot(offset: 0, length: 0), count: spans.count)
        if let tail = Tail.steps {
            // On both cores for a large file, each part its own stretch of records.
            let parts = KeystoreCheck.chunks(for: file.buffer.count) > 1 ? 2 : 1
            slots.withUnsafeMutableBufferPointer { slots in
                KeystoreCheck.concurrently(parts) { part in
                    for i in (spans.count * part / parts)..<(spans.count * (part + 1) / parts) {
                        let span = spans[i]
                        guard let (revokedAt, expiresAt) = tail.times(base, span), Self.hasPlainID(base, span) else { continue }
                        slots[i] = Slot(
                            offset: UInt32(span.lowerBound), length: UInt32(span.count), revokedAt: UInt32(revokedAt), expiresAt: UInt32(expiresAt))
                    }
                }
            }
        }
        // The rest are built, in order.
        var built: [KeyRecord] = []
        for i in slots.indices where !slots[i].isStored {
            let span = spans[i]
            guard let record = try? KeystoreCodec.decodeRecord(UnsafeBufferPointer(rebasing: file.buffer[span])) else { return nil }
            slots[i].offset = UInt32(built.count)
            built.append(record)
        }
        var records = KeyRecords(built)
        records.slots = slots
        records.file = file
        return records
    }

    /// The record starts `{"id":"` and its id is plain base62 (no escape), so
    /// `storedID` finds it as bytes.
    static func hasPlainID(_ base: UnsafePointer<UInt8>, _ span: Range<Int>) -> Bool {
        let head = "{\"id\":\""
        guard span.count > idOffset + 1, memcmp(base + span.lowerBound, head, idOffset) == 0,
            let quote = memchr(base + span.lowerBound + idOffset, 0x22, span.count - idOffset)
        else { return false }
        // The check took the id, so it is base62 unless it was written with an escape.
        let start = base + span.lowerBound + idOffset
        let end = UnsafePointer<UInt8>(quote.assumingMemoryBound(to: UInt8.self))
        return end > start && memchr(start, 0x5c, end - start) == nil
    }

    /// A record's last fields as keyctl writes them, read backwards from its `}`:
    /// `,"expires_at":V,"revoked_at":V,…,"rotated_to":V}` (RecordSchema's order from
    /// expires_at on), each V `null` or a quoted value. Only bytes the whole-file check
    /// passed are read this way, and there a `,"revoked_at":` outside a string is that
    /// record's one revoked_at member (a quote inside a string is escaped, so never
    /// follows a comma; a key appears once). Anything else (spacing, another order, a
    /// time not in keyctl's form) and the record is built instead.
    struct Tail: Sendable {
        /// The fields from expires_at on, last first: the `,"name":` before each value
        /// as its first and last eight bytes (little-endian words) and its length.
        var fields: [(field: RecordField, head: UInt64, tail: UInt64, count: Int)]

        static let steps: Tail? = {
            let stored = RecordSchema.steps
            guard let first = stored.firstIndex(where: { $0.field == .expiresAt }) else { return nil }
            let tail = stored[first...]
            // Every value there is null or a string with no quote in it.
            guard tail.allSatisfy({ $0.nullable && ($0.kind == .time || $0.kind == .link) && $0.literal.count >= 8 }),
                tail.contains(where: { $0.field == .revokedAt }), tail.contains(where: { $0.field == .rotatedTo })
            else { return nil }
            return Tail(
                fields: tail.reversed().map { step in
                    let raw = UnsafeRawPointer(step.literal.baseAddress!)
                    let n = step.literal.count
                    return (step.field, raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self), n)
                })
        }()

        /// Where the record at `span` has its revoked_at value (the opening quote), and
        /// its expires_at value when it was also rotated (else 0), when revoked_at is
        /// set and the tail is in keyctl's layout; else nil.
        func times(_ base: UnsafePointer<UInt8>, _ span: Range<Int>) -> (revokedAt: Int, expiresAt: Int)? {
            var p = span.upperBound
            guard p - 1 > span.lowerBound, base[p - 1] == 0x7d else { return nil }
            p -= 1
            var revokedAt = 0, expiresAt = 0, rotated = false
            for (field, head, tail, n) in fields {
                if p - 4 > span.lowerBound, UnsafeRawPointer(base + p - 4).loadUnaligned(as: UInt32.self) == UInt32(littleEndian: 0x6c6c_756e) {
                    p -= 4  // null
                } else {
                    guard p - 2 > span.lowerBound, base[p - 1] == 0x22 else { return nil }
                    p -= 2
                    while p > span.lowerBound && base[p] != 0x22 { p -= 1 }
                    switch field {
                    case .rotatedTo: rotated = true
                    case .revokedAt: revokedAt = p
                    case .expiresAt: expiresAt = p
                    default: break
                    }
                }
                let raw = UnsafeRawPointer(base + p - n)
                guard p - n > span.lowerBound, raw.loadUnaligned(as: UInt64.self) == head,
                    raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == tail
                else { return nil }
                p -= n
            }
            guard revokedAt != 0 else { return nil }
            return (revokedAt, rotated ? expiresAt : 0)
        }
    }

    /// Where a canonical record's id starts: after `{"id":"`.
    static let idOffset = 7

    /// A stored record's bytes in the file.
    private func bytes(of slot: Slot) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: file!.buffer[Int(slot.offset)..<Int(slot.offset + slot.length)])
    }

    /// Two byte runs hold the same bytes.
    private static func equalBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    private func record(stored slot: Slot) -> KeyRecord {
        file!.recordsBuilt += 1
        guard let record = try? KeystoreCodec.decodeRecord(bytes(of: slot)) else {
            preconditionFailure("a record the canonical scanner took is one decodeRecord takes")
        }
        return record
    }

    /// The id bytes of a stored record.
    private func storedID(_ slot: Slot) -> UnsafeBufferPointer<UInt8> {
        let base = file!.buffer.baseAddress! + Int(slot.offset) + Self.idOffset
        let limit = Int(slot.length) - Self.idOffset
        let quote = memchr(base, 0x22, limit)!.assumingMemoryBound(to: UInt8.self)
        return UnsafeBufferPointer(start: base, count: UnsafePointer<UInt8>(quote) - base)
    }

    /// Element i's id, without building a stored record.
    public func id(at i: Int) -> String {
        guard let slots, slots[i].isStored else { return self[i].id }
        return String(decoding: storedID(slots[i]), as: UTF8.self)
    }

    /// Every record's digest (64 hex digits), in order, without building a stored record.
    func forEachDigest(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var values = [KeystoreCodec.Decoder.FieldValue](repeating: .absent, count: RecordSchema.stored.count)
        values.withUnsafeMutableBufferPointer { values in
            RecordSchema.steps.withUnsafeBufferPointer { steps in
                for i in indices {
                    if let slot = slots?[i], slot.isStored, let base = file?.buffer.baseAddress {
                        var scanner = CanonicalScanner(base: base, end: Int(slot.offset + slot.length), p: Int(slot.offset))
                        if scanner.record(into: values, steps: steps, version: Keystore.currentVersion),
                            case .string(let digest) = values[RecordSchema.digestSlot]
                        {
                            body(UnsafeBufferPointer(rebasing: file!.buffer[digest.range]))
                            continue
                        }
                    }
                    var digest = self[i].digest
                    digest.withUTF8 { body($0) }
                }
            }
        }
    }

    /// Whether element i is kept as its bytes (for tests).
    func isStored(_ i: Int) -> Bool { slots?[i].isStored ?? false }

    /// How many times a stored record was built so far, by any copy of these records (for tests).
    var storedRecordsBuilt: Int { file?.recordsBuilt ?? 0 }

    /// When element i stops (or stopped) verifying for good (KeyRecord.revokedSince),
    /// without building a stored record.
    public func revokedSince(at i: Int) -> Timestamp? {
        guard let slots, slots[i].isStored, let base = file?.buffer.baseAddress else { return self[i].revokedSince }
        let slot = slots[i]
        // A time in keyctl's form is 20 bytes in quotes; any other form the reader
        // takes is left to the record.
        func time(_ at: UInt32) -> Timestamp? {
            guard base[Int(at) + 21] == 0x22 else { return nil }
            return RFC3339.parseCanonical(base + Int(at) + 1)
        }
        guard let revokedAt = time(slot.revokedAt) else { return self[i].revokedSince }
        guard slot.expiresAt != 0 else { return revokedAt }
        guard let expiresAt = time(slot.expiresAt) else { return self[i].revokedSince }
        return Swift.min(revokedAt, expiresAt)
    }

    /// The indices of the records that may be in use (isInUse); every other record is
    /// not. No stored record is among them, so this builds nothing.
    public func maybeInUse() -> [Int] {
        guard let slots else { return Array(indices) }
        return slots.indices.filter { !slots[$0].isStored }
    }

    /// The indices of the records in use (isInUse), in order.
    public func inUseIndices() -> [Int] {
        maybeInUse().filter { self[$0].isInUse }
    }

    /// The record with this id, of any status; stored records are compared as bytes.
    public func index(ofID id: String) -> Int? {
        guard let slots else { return built.firstIndex { $0.id == id } }
        var id = id
        return id.withUTF8 { wanted in
            slots.indices.first { i in
                let slot = slots[i]
                if slot.isStored { return Self.equalBytes(storedID(slot), wanted) }
                return built[Int(slot.offset)].id == String(decoding: wanted, as: UTF8.self)
            }
        }
    }

    /// Whether a record of any status is named `name`, compared as `KeyRecord.name ==
    /// name` compares (as Strings: canonically equivalent spellings are one name),
    /// without building a stored record: its name is read in place, right after its id
    /// (`storedID`), as the reader reads a string. Two ASCII names without escapes are
    /// equal only byte for byte; anything else (an escape, a byte beyond ASCII on
    /// either side, "K" and the Kelvin sign being one name) is compared as Strings.
    /// A stored record whose name does not follow its id as keyctl writes it is built.
    public func contains(named name: String) -> Bool {
        guard let slots else { return built.contains { $0.name == name } }
        let wanted = Array(name.utf8)
        let ascii = wanted.allSatisfy { $0 < 0x80 }
        return slots.contains { slot in
            guard slot.isStored else { return built[Int(slot.offset)].name == name }
            guard let (reader, token) = storedName(slot) else { return record(stored: slot).name == name }
            if ascii && !token.hasEscapes {
                let have = UnsafeBufferPointer(rebasing: reader.bytes[token.range])
                if wanted.withUnsafeBufferPointer({ Self.equalBytes(have, $0) }) { return true }
                if have.allSatisfy({ $0 < 0x80 }) { return false }
            }
            return reader.text(token) == name
        }
    }

    /// A stored record's name as a string token of its bytes, when `,"name":` follows
    /// its id as keyctl writes it (RecordSchema's order); else nil.
    private func storedName(_ slot: Slot) -> (JSONReader, JSONStringToken)? {
        guard RecordSchema.nameSlot == RecordSchema.idSlot + 1 else { return nil }
        let record = bytes(of: slot)
        let id = storedID(slot)
        // After the id and its closing quote.
        var scanner = CanonicalScanner(base: record.baseAddress!, end: record.count, p: Self.idOffset + id.count + 1)
        guard scanner.literal(RecordSchema.steps[RecordSchema.nameSlot].literal) else { return nil }
        var reader = JSONReader(record)
        reader.seek(to: scanner.p)
        guard let token = try? reader.string() else { return nil }
        return (reader, token)
    }

    /// Whether element i here and element j of `other` are the same record as kept in
    /// the same file (true only then).
    private func sameBytes(_ i: Int, _ other: KeyRecords, _ j: Int) -> Bool {
        guard let a = slots?[i], let b = other.slots?[j], a.isStored, b.isStored, file === other.file else { return false }
        return a.offset == b.offset
    }

    /// Element i here and element j of `other` have the same id; two stored records
    /// are compared as bytes, nothing is built.
    func hasSameID(_ i: Int, as other: KeyRecords, _ j: Int) -> Bool {
        if sameBytes(i, other, j) { return true }
        let a = slots.flatMap { $0[i].isStored ? storedID($0[i]) : nil }
        let b = other.slots.flatMap { $0[j].isStored ? other.storedID($0[j]) : nil }
        switch (a, b) {
        case (let a?, let b?): return Self.equalBytes(a, b)
        case (let a?, nil): return String(decoding: a, as: UTF8.self) == other[j].id
        case (nil, let b?): return self[i].id == String(decoding: b, as: UTF8.self)
        case (nil, nil): return self[i].id == other[j].id
        }
    }

    /// Element i here equals element j of `other`: the same bytes of one file are the
    /// same record; two stored records of one file at different places are different
    /// records (ids are unique in a checked file); anything else is built and compared.
    func isSame(_ i: Int, as other: KeyRecords, _ j: Int) -> Bool {
        if sameBytes(i, other, j) { return true }
        if let a = slots?[i], let b = other.slots?[j], a.isStored, b.isStored, file === other.file { return false }
        return self[i] == other[j]
    }

    public static func == (a: KeyRecords, b: KeyRecords) -> Bool {
        if a.slots == nil && b.slots == nil { return a.built == b.built }
        guard a.count == b.count else { return false }
        return a.indices.allSatisfy { a.isSame($0, as: b, $0) }
    }
}

extension ListCommand {
    /// `newestFirst` of a keystore's records (a reader's: every one built).
    static func newestFirst(_ keys: KeyRecords) -> [KeyRecord] { newestFirst(keys.all) }
}
