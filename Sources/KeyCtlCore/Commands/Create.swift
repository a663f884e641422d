enum CreateCommand {
    static func run(_ inv: Invocation) throws -> Int32 {
        let name = inv.arguments.positionals[0]
        if let problem = Names.problem(with: name) { throw inv.usage("invalid key name: \(problem)") }
        // Names are stored and listed in clear; a key pasted as a name would be too.
        if Redaction.redactingKeys(in: name) != name {
            throw inv.usage("invalid key name: it contains something shaped like an API key, and names are stored in clear")
        }
        let permissions = try permissions(inv)
        let environment = try environment(inv)
        let expiresAt = try expiry(inv)
        let format = try inv.format()
        let file = try inv.keystoreFile()

        let (_, record) = try file.update(initial: { Keystore() }) { keystore, _ -> (APIKey, KeyRecord) in
            if keystore.keys.contains(where: { $0.isInUse && $0.name == name }) {
                throw KeyCtlError(
                    .nameTaken, "a key named '\(name)' is already in use",
                    hint: "choose another name, or rotate that key with 'keyctl rotate \(name)'")
            }
            guard keystore.inUseCount() < keystore.maxKeys else {
                throw KeyCtlError(
                    .keyLimitReached, "the keystore already holds \(keystore.maxKeys) keys that are not revoked (its limit)",
                    hint: "free a slot with 'keyctl revoke KEY' (see 'keyctl list')")
            }
            let (key, record) = inv.makeKey(
                prefix: keystore.prefix, name: name, environment: environment,
                permissions: permissions, expiresAt: expiresAt)
            keystore.keys.append(record)
            return (key, record)
        } deliver: { key, record in
            inv.json ? inv.context.writeStdout(inv.recordJSON(record, key: key.text)) : inv.context.out(key.formatted(format) + "\n")
        }
        if !inv.json { inv.context.notice("created \(inv.describe(record)); this key is shown only once, so store it now") }
        return 0
    }

    static func permissions(_ inv: Invocation) throws -> Permissions {
        try inv.listValues("permissions").map(Permissions.init(names:)) ?? .read
    }

    static func environment(_ inv: Invocation) throws -> KeyEnvironment {
        guard let raw = inv.arguments.value("env") else { return .live }
        guard let env = KeyEnvironment(rawValue: raw) else { throw inv.usage("invalid value '\(raw)' for --env (expected live or test)") }
        return env
    }

    /// --expires-in or --expires-at (not both); nil for a key that never expires.
    static func expiry(_ inv: Invocation) throws -> Timestamp? {
        if inv.arguments.has("expires-in") && inv.arguments.has("expires-at") {
            throw inv.usage("give --expires-in or --expires-at, not both")
        }
        if let seconds = try inv.duration("expires-in") { return inv.now + seconds }
        guard let raw = inv.arguments.value("expires-at") else { return nil }
        guard let t = RFC3339.parse(Array(raw.utf8)) else {
            throw inv.usage("invalid time '\(raw)' for --expires-at (RFC 3339, e.g. 2027-01-01T00:00:00Z)")
        }
        guard t > inv.now else { throw inv.usage("--expires-at \(raw) is in the past") }
        return t
    }
}
