// `keyctl prune --revoked-before DURATION [--dry-run]`: remove the records of keys
// revoked at least DURATION ago, all in one write with one audit log entry that lists
// every removed key and the values it had. Their history stays in the log
// (`keyctl log KEY_ID`); `verify` answers such a key INVALID_API_KEY from then on, as
// it would a key it never knew. A retiring key (revoked_at still ahead) is never
// pruned. A rotation link to a pruned record (`rotated_from` of its successor) is
// kept: it names the key whose history the log holds.

enum PruneCommand {
    static func run(_ options: PruneOptions, _ inv: Invocation) throws -> Int32 {
        guard let age = options.revokedBefore else {
            throw inv.usage("prune needs --revoked-before DURATION (e.g. 90d): the records of keys revoked longer ago are removed")
        }
        let now = inv.now
        let cutoff = now - age
        // Revoked (its revokedSince reached: KeyRecord.status) at least `age` ago. Asked
        // of revokedSince alone, so the records a write keeps as bytes are not built
        // to be looked at (KeyRecords.swift); only the removed ones are, for the output.
        func due(_ keys: KeyRecords) -> [Int] {
            keys.indices.filter { i in keys.revokedSince(at: i).map { $0 <= now && $0 <= cutoff } ?? false }
        }
        let file = try inv.keystoreFile()
        let removed: [KeyRecord]
        if options.dryRun {
            let keys = try file.load().keys
            removed = due(keys).map { keys[$0] }
            try inv.output(output(removed, inv: inv))
        } else {
            removed = try file.update { keystore, _ -> [KeyRecord] in
                let indices = due(keystore.keys)
                let removed = indices.map { keystore.keys[$0] }
                keystore.keys.remove(at: indices)
                return removed
            } deliver: { removed in
                inv.context.writeStdout(output(removed, inv: inv))
            }
        }
        if !inv.json { notify(removed, age: age, dryRun: options.dryRun, inv: inv) }
        return 0
    }

    /// The removed records: a JSON array, or one line each: id, name, hint, revoked_at,
    /// separated by tabs (nothing at all when none).
    static func output(_ records: [KeyRecord], inv: Invocation) -> [UInt8] {
        if inv.json { return inv.recordsJSON(records) }
        return Array(records.map { "\($0.id)\t\(Redaction.shown($0.name))\t\($0.hint)\t\(inv.time($0.revokedSince))\n" }.joined().utf8)
    }

    static func notify(_ removed: [KeyRecord], age: Int64, dryRun: Bool, inv: Invocation) {
        let what = removed.count == 1 ? "1 key" : "\(removed.count) keys"
        let when = age == 0 ? "revoked" : "revoked \(DurationParser.format(age)) ago or earlier"
        if removed.isEmpty {
            inv.context.notice("nothing to prune: no key was \(when)")
        } else if dryRun {
            inv.context.notice("would prune \(what) \(when) (dry run: nothing changed)")
        } else {
            inv.context.notice("pruned \(what) \(when); their history stays in 'keyctl log'")
        }
    }
}
