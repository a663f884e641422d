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
    static func make(_ new: Keystore, before: Keystore, old: UnsafeRawBufferPointer, ranges: [Range<Int>]) -> KeystoreSplice? {
        guard ranges.count == before.keys.count else { return nil }
        // The frame: HEADER (ending "[\n") + records joined by ",\n" + "\n]}\n".
        guard let header = frame(new), let oldHeader = frame(before) else { return nil }
        let headerEnd = ranges.first?.lowerBound ?? oldHeader.count
        guard headerEnd == oldHeader.count, headerEnd <= old.count, oldHeader.elementsEqual(old[0..<headerEnd]) else { return nil }

        var s = KeystoreSplice(old: old)
        s.changed = header != oldHeader || new.keys.count != before.keys.count
        if header == oldHeader { s.appendOld(0..<headerEnd) } else { s.appendFresh(header) }
        var oldIndex: [String: Int]?
        var k = 0
        for (i, record) in new.keys.enumerated() {
            s.separatorDue = i > 0
            // The old record with the same id: usually the next one.
            if k >= before.keys.count || before.keys[k].id != record.id {
                if oldIndex == nil {
                    var map: [String: Int] = [:]
                    map.reserveCapacity(before.keys.count)
                    for (j, r) in before.keys.enumerated() { map[r.id] = j }
                    oldIndex = map
                }
                k = oldIndex![record.id] ?? before.keys.count
            }
            if k < before.keys.count && before.keys[k] == record {
                if k != i { s.changed = true }
                s.appendOld(ranges[k])
            } else {
                s.changed = true
                s.appendFresh(KeystoreCodec.encode(record))
            }
            k += 1
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
