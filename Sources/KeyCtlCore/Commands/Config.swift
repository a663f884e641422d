// `keyctl config [--max-keys N]`: the keystore's settings, or a change of its key
// limit (never below the keys in use). The prefix never changes: every key carries it.
// Reading the settings never writes, also for a version 1 keystore (it is upgraded by
// the next change, not by a look at it). Setting the limit it has already is success
// and writes nothing, so the audit log never holds an entry for a non-change.

enum ConfigCommand {
    static func run(_ options: ConfigOptions, _ inv: Invocation) throws -> Int32 {
        let file = try inv.keystoreFile()
        guard let maxKeys = options.maxKeys else {
            try inv.output(settings(try file.load(), path: file.path, inv: inv))
            return 0
        }
        let (old, new) = try file.update { keystore, _ -> (Keystore, Keystore) in
            let old = keystore
            let inUse = keystore.inUseCount()
            guard maxKeys >= inUse else {
                throw KeyCtlError(
                    .keyLimitReached, "\(inUse) keys are in use, more than a limit of \(maxKeys) allows",
                    hint: "revoke keys first (see 'keyctl list'), or choose a limit of at least \(inUse)")
            }
            keystore.maxKeys = maxKeys
            var new = keystore
            // What the write makes of it: the current format.
            if new != old { new.version = Keystore.currentVersion }
            return (old, new)
        } deliver: { _, new in
            !inv.json || inv.context.writeStdout(settings(new, path: file.path, inv: inv))
        }
        if !inv.json {
            inv.context.notice(
                old.maxKeys == new.maxKeys
                    ? "the limit is \(new.maxKeys) keys in use already; nothing changed"
                    : "max_keys \(old.maxKeys) -> \(new.maxKeys): the keystore now allows \(new.maxKeys) keys in use")
        }
        return 0
    }

    /// The settings: an object with --json, else one `field: value` line each.
    static func settings(_ keystore: Keystore, path: String, inv: Invocation) -> [UInt8] {
        if inv.json { return InitCommand.json(keystore, path: path, counts: true) }
        let version =
            keystore.upgradedFrom == nil
            ? String(keystore.version) : "\(keystore.version) (the next change upgrades it to \(Keystore.currentVersion))"
        let rows: [(String, String)] = [
            ("keystore", Redaction.shown(path)), ("version", version), ("prefix", keystore.prefix),
            ("max_keys", String(keystore.maxKeys)), ("in_use", String(keystore.inUseCount())), ("records", String(keystore.keys.count)),
        ]
        return Array(rows.map { "\($0.0):" + String(repeating: " ", count: 9 - $0.0.count) + $0.1 + "\n" }.joined().utf8)
    }
}
