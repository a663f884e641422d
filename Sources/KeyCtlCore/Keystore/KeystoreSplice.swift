// A write that costs the change, not the history: the new keystore is the old
// file's bytes for every record that did not change, and a fresh encoding only of
// the header and of the records that did.
//
// Invariants:
// - The result decodes to exactly the new Keystore. A record's old bytes are reused
//   only when its decoded value equals the new record (so they decode to it), and
//   only when the old file's header is byte for byte what KeystoreCodec writes for
//   that keystore (so an older format or a hand-laid-out file is re-encoded whole).
// - For a file keyctl wrote, the result is byte for byte KeystoreCodec.encode of the
//   new keystore (pinned by KeystoreSpliceTests), so the next reader's fast path holds.
// - Nothing here checks the keystore's rules: the command did that on the decoded
//   model, and every reader still checks the whole new file before trusting it.

struct KeystoreSplice {
    /// The new file as byte ranges of the old file and of `fresh`, in order.
    enum Part: Equatable {
        case old(Range<Int>)
        case fresh(Range<Int>)
    }

    let old: UnsafeRawBufferPointer
    var parts: [Part] = []
    var fresh: [UInt8] = []
    /// False when the result is the old file: nothing to write.
    var changed = false
    private var separatorDue = false

    static let close = Array("]}\n".utf8)
    static let separator = Array(",\n".utf8)

    /// Splices `new` against `before`, decoded from `old` with a byte range per record
    /// (`ranges[i]` holds `before.keys[i]`). nil when the old file cannot be reused.
    /// `changes`: which records differ (RecordChanges.between), when the caller has it.
    static func make(
        _ new: Keystore, before: Keystore, old: UnsafeRawBufferPointer, ranges: [Range<Int>], changes: RecordChanges? = nil
    ) -> KeystoreSplice? {
        guard ranges.count == before.keys.count else { return nil }
        // The frame: HEADER (ending "[\n") + records joined by ",\n" + "\n]}\n".
        guard let header = frame(new), let oldHeader = frame(before) else { return nil }
        let headerEnd = ranges.first?.lowerBound ?? oldHeader.count
        guard headerEnd == oldHeader.count, headerEnd <= old.count, oldHeader.elementsEqual(old[0..<headerEnd]) else { return nil }
        let changes = changes ?? RecordChanges.between(before.keys, new.keys)

        var s = KeystoreSplice(old: old)
        s.changed = header != oldHeader || !changes.isEmpty
        if header == oldHeader { s.appendOld(0..<headerEnd) } else { s.appendFresh(header) }
        var differing = changes.differing.makeIterator()
        var nextDiffering = differing.next()
        for i in new.keys.indices {
            s.separatorDue = i > 0
            if i == nextDiffering {
                nextDiffering = differing.next()
                s.appendFresh(KeystoreCodec.encode(new.keys[i]))
            } else {
                s.appendOld(ranges[Int(changes.oldIndex[i])])
            }
        }
        s.separatorDue = false
        s.appendFresh(Array((new.keys.isEmpty ? "" : "\n").utf8) + close)
        return s
    }

    /// KeystoreCodec's encoding of `keystore` up to its first record.
    static func frame(_ keystore: Keystore) -> [UInt8]? {
        var empty = keystore
        empty.keys = []
        let bytes = KeystoreCodec.encode(empty)
        guard bytes.count > close.count + 1, bytes.suffix(close.count).elementsEqual(close),
            bytes[bytes.count - close.count - 1] == UInt8(ascii: "\n")
        else { return nil }
        return Array(bytes.dropLast(close.count))
    }

    mutating func appendFresh<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if separatorDue {
            separatorDue = false
            appendFresh(Self.separator)
        }
        let start = fresh.count
        fresh.append(contentsOf: bytes)
        if case .fresh(let r)? = parts.last, r.upperBound == start {
            parts[parts.count - 1] = .fresh(r.lowerBound..<fresh.count)
        } else {
            parts.append(.fresh(start..<fresh.count))
        }
    }

    /// Old bytes; a run of unchanged records (and the ",\n" between them) is one part.
    mutating func appendOld(_ range: Range<Int>) {
        if case .old(let r)? = parts.last {
            let gap = separatorDue ? Self.separator.count : 0
            if r.upperBound + gap == range.lowerBound
                && (gap == 0 || (old[r.upperBound] == Self.separator[0] && old[r.upperBound + 1] == Self.separator[1]))
            {
                separatorDue = false
                parts[parts.count - 1] = .old(r.lowerBound..<range.upperBound)
                return
            }
        }
        if separatorDue { appendFresh([]) }
        parts.append(.old(range))
    }

    /// Runs `body` on the new file's pieces, for KeystoreFile.write(parts:).
    func withBuffers<T>(_ body: ([UnsafeRawBufferPointer]) throws -> T) rethrows -> T {
        try fresh.withUnsafeBytes { freshBytes in
            try body(
                parts.map { part in
                    switch part {
                    case .old(let r): return UnsafeRawBufferPointer(rebasing: old[r])
                    case .fresh(let r): return UnsafeRawBufferPointer(rebasing: freshBytes[r])
                    }
                })
        }
    }
}

/// Which records a write changed: what the audit entry lists and the splice encodes
/// afresh. Found without a dictionary of every record when the new records are the
/// old ones in their order, some changed in place, some removed, some appended (what
/// every command does); anything else (a reordering) goes through a dictionary by id.
/// Either way the result is the same (pinned by RecordChangesTests against the
/// dictionary's answer). The walk compares ids and records through KeyRecords, so a
/// record a write kept as its bytes is never built here unless it changed.
struct RecordChanges: Equatable {
    /// For each new record, the index of the old record with its id; -1 for a new one.
    var oldIndex: [Int32]
    /// New records that are new or differ in any field from their old one, ascending.
    var differing: [Int]
    /// Old records whose id is no longer there, ascending.
    var removed: [Int]
    /// Kept records are not in their old order.
    var reordered = false

    /// Nothing to write: the same records in the same order.
    var isEmpty: Bool { differing.isEmpty && removed.isEmpty && !reordered }

    static func between(_ before: KeyRecords, _ after: KeyRecords) -> RecordChanges {
        inOrder(before, after) ?? byID(before, after)
    }

    /// The walk in order: nil when the records are not the old ones in their order
    /// with some removed and some appended.
    static func inOrder(_ before: KeyRecords, _ after: KeyRecords) -> RecordChanges? {
        var changes = RecordChanges(oldIndex: [], differing: [], removed: [])
        changes.oldIndex.reserveCapacity(after.count)
        var k = 0
        var i = 0
        // Kept (maybe changed) records: each is the next old record with its id, after
        // any removed ones.
        while i < after.count {
            var j = k
            while j < before.count && !before.hasSameID(j, as: after, i) { j += 1 }
            guard j < before.count else { break }
            changes.removed.append(contentsOf: k..<j)
            changes.oldIndex.append(Int32(j))
            if !before.isSame(j, as: after, i) { changes.differing.append(i) }
            k = j + 1
            i += 1
        }
        // Appended records, and old records past the last kept one are removed.
        changes.removed.append(contentsOf: k..<before.count)
        guard i < after.count else { return changes }
        var appended = Set<String>()
        for n in i..<after.count {
            changes.oldIndex.append(-1)
            changes.differing.append(n)
            appended.insert(after.id(at: n))
        }
        // An appended id that was an old record's: a record moved, not the walk's case.
        for r in changes.removed where appended.contains(before.id(at: r)) { return nil }
        return changes
    }

    /// The general case: old records found by id.
    static func byID(_ before: KeyRecords, _ after: KeyRecords) -> RecordChanges {
        var old: [String: Int] = [:]
        old.reserveCapacity(before.count)
        for j in before.indices where old[before.id(at: j)] == nil { old[before.id(at: j)] = j }
        var changes = RecordChanges(oldIndex: [], differing: [], removed: [])
        changes.oldIndex.reserveCapacity(after.count)
        var last = -1
        for i in after.indices {
            guard let j = old.removeValue(forKey: after.id(at: i)) else {
                changes.oldIndex.append(-1)
                changes.differing.append(i)
                continue
            }
            changes.oldIndex.append(Int32(j))
            if !before.isSame(j, as: after, i) { changes.differing.append(i) }
            if j < last { changes.reordered = true }
            last = j
        }
        changes.removed = old.values.sorted()
        return changes
    }
}
