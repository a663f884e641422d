// `list --json`, streamed: the keystore is checked whole first (nothing is printed
// from a file that is not valid keyctl JSON), building no record; then the records
// are built one at a time from the mapped bytes, newest first, each merged with the
// usage file, filtered, and written through one buffer that is flushed as it fills.
//
// Invariants:
// - The output is byte for byte what the model path printed (`recordsJSON` of
//   `newestFirst(load().keys)` filtered): the same order, the same record writer
//   (Invocation.writeRecord), the same merge of last_used_at. ListStreamTests compares
//   the two on generated keystores.
// - Memory: the mapping, 16 bytes per record (its place and created_at), one record
//   and the output buffer; never a model of the whole keystore.
// - A failed write to stdout (closed, full) is IO_ERROR, as for every command.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

/// Where a record lies in the keystore file, and when it was made (for the order).
struct RecordSpan {
    var offset: UInt32
    var length: UInt32
    var createdAt: Timestamp

    static let createdAtSlot = RecordSchema.stored.firstIndex(of: .createdAt)!
}

enum ListStream {
    /// Output is written in pieces of about this size.
    static let flushSize = 64 << 10

    /// Prints `[RECORD,…]\n` of the records `keep` accepts (given each record and its
    /// status), newest first.
    static func printJSON(_ inv: Invocation, keep: (KeyRecord, KeyStatus) -> Bool) throws {
        let file = try inv.keystoreFile()
        guard let (fd, st) = try file.openForReading() else { throw file.notFound() }
        defer { close(fd) }
        try file.withContents(fd, size: Int(st.st_size)) { bytes in
            let spans: [RecordSpan]
            do throws(KeystoreFault) {
                (_, spans) = try KeystoreCodec.decodeSpans(bytes)
            } catch {
                throw file.corrupt(error, in: bytes)
            }
            var w = JSONWriter(capacity: flushSize + 4096)
            w.raw("[")
            var first = true
            try forEachNewestFirst(spans) { span in
                let start = Int(span.offset)
                let record: KeyRecord
                do throws(KeystoreFault) {
                    record = try KeystoreCodec.decodeRecord(UnsafeBufferPointer(rebasing: bytes[start..<(start + Int(span.length))]))
                } catch {
                    // Checked whole a moment ago, in the same private mapping: cannot happen.
                    throw file.corrupt(KeystoreFault(offset: start + (error.offset ?? 0), message: error.message), in: bytes)
                }
                guard keep(record, record.status(at: inv.now)) else { return }
                if !first { w.raw(",") }
                first = false
                inv.writeRecord(record, to: &w)
                if w.bytes.count >= flushSize {
                    try inv.output(w.bytes)
                    w.bytes.removeAll(keepingCapacity: true)
                }
            }
            w.raw("]\n")
            try inv.output(w.bytes)
        }
    }

    /// Visits spans by created_at, newest first, and among equal times the later in
    /// the file first (ListCommand.newestFirst's order). A file keyctl appended to in
    /// time order is walked backwards without sorting.
    static func forEachNewestFirst(_ spans: [RecordSpan], _ body: (RecordSpan) throws -> Void) throws {
        var ordered = true
        var i = 1
        while i < spans.count {
            if spans[i].createdAt < spans[i - 1].createdAt {
                ordered = false
                break
            }
            i += 1
        }
        if ordered {
            for span in spans.reversed() { try body(span) }
            return
        }
        var order = [Int32](0..<Int32(spans.count))
        order.sort { a, b in
            let ta = spans[Int(a)].createdAt, tb = spans[Int(b)].createdAt
            return ta != tb ? ta > tb : a > b
        }
        for k in order { try body(spans[Int(k)]) }
    }
}
