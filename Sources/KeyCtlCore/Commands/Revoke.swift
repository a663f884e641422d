enum RevokeCommand {
    static func run(_ options: RevokeOptions, _ inv: Invocation) throws -> Int32 {
        let references = options.keys
        let now = inv.now
        let file = try inv.keystoreFile()
        let revoked = try file.update { keystore, _ -> [(KeyRecord, Bool)] in
            var indices: [Int] = []
            for reference in references {
                let i = try inv.resolve(reference, in: keystore)
                if !indices.contains(i) { indices.append(i) }
            }
            let inUseBefore = keystore.inUseCount()
            var result: [(KeyRecord, Bool)] = []
            for i in indices {
                // Already revoked: nothing to do, and not an error, so a retried script succeeds.
                let wasRevoked = keystore.keys[i].status(at: now) == .revoked
                if !wasRevoked { keystore.keys[i].revokedAt = now }
                result.append((keystore.keys[i], wasRevoked))
            }
            if inUseBefore > 0 && keystore.inUseCount() == 0 {
                throw KeyCtlError(
                    .lastKey, "revoking \(references.count == 1 ? "this key" : "these keys") would leave no key in use",
                    hint: "create or rotate in a replacement first ('keyctl rotate KEY' keeps a key in use)")
            }
            return result
        } deliver: { revoked in
            !inv.json || inv.context.writeStdout(inv.recordsJSON(revoked.map { $0.0 }))
        }
        if !inv.json {
            for (record, wasRevoked) in revoked {
                inv.context.notice(wasRevoked ? "\(inv.describe(record)) was already revoked" : "revoked \(inv.describe(record))")
            }
        }
        return 0
    }
}
