// `keyctl update KEY [--name NAME] [--description TEXT] [--permissions LIST]
// [--expires-in DURATION | --expires-at TIME | --no-expiry]`: change a key in place;
// its secret, id, environment and times other than its expiry stay. One audit log
// entry lists each changed field's old and new value.
//
// An update that would change nothing (every value given is the key's already) is a
// usage error and writes nothing, so the log never has an entry for a non-change.

enum UpdateCommand {
    static func run(_ options: UpdateOptions, _ inv: Invocation) throws -> Int32 {
        let expiries = [options.expiresIn != nil, options.expiresAt != nil, options.noExpiry].filter { $0 }.count
        if expiries > 1 { throw inv.usage("give one of --expires-in, --expires-at and --no-expiry, not several") }
        if options.name == nil && options.description == nil && options.permissions == nil && expiries == 0 {
            throw inv.usage("update needs a change: --name, --description, --permissions, --expires-in, --expires-at or --no-expiry")
        }
        if let name = options.name, let problem = Names.problem(with: name) { throw inv.usage("invalid key name: \(problem)") }
        if let text = options.description, let problem = Descriptions.problem(with: text) {
            throw inv.usage("invalid description: \(problem)")
        }
        let expiresAt = try CreateCommand.expiry(in: options.expiresIn, at: options.expiresAt, inv, never: "--no-expiry")
        let now = inv.now
        let file = try inv.keystoreFile()

        let (before, after) = try file.update { keystore, _ -> (KeyRecord, KeyRecord) in
            let i = try inv.resolve(options.key, in: keystore)
            let old = keystore.keys[i]
            let status = old.status(at: now)
            guard status == .active || status == .expired else {
                throw KeyCtlError(
                    .keyRevoked, "\(inv.describe(old)) is \(status.rawValue), and only a key in use can be updated",
                    hint: "make a new key with 'keyctl create'")
            }
            var new = old
            if let name = options.name {
                if keystore.keys.inUseIndices().contains(where: { keystore.keys[$0].name == name && keystore.keys[$0].id != old.id }) {
                    throw KeyCtlError(
                        .nameTaken, "a key named '\(name)' is already in use", hint: "choose another name (see 'keyctl list')")
                }
                new.name = name
            }
            // An empty description clears it.
            if let text = options.description { new.description = text.isEmpty ? nil : text }
            if let permissions = options.permissions { new.permissions = Permissions(permissions) }
            if expiries > 0 { new.expiresAt = expiresAt }
            guard new != old else {
                throw KeyCtlError(
                    .usage, "nothing to change: \(inv.describe(old)) already has the values given",
                    hint: "see '\(ShellQuoting.command("show", argument: old.id))'; nothing was written")
            }
            keystore.keys[i] = new
            return (old, new)
        } deliver: { _, new in
            !inv.json || inv.context.writeStdout(inv.recordJSON(new))
        }
        if !inv.json {
            // The key's part of the log line (`keyctl log`), as the entry records it.
            let changes = LogKey(id: after.id, name: after.name, hint: after.hint, changes: AuditEntry.diff(before, after))
            inv.context.notice("updated " + LogCommand.describe(changes))
        }
        return 0
    }
}
