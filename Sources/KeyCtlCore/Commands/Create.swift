enum CreateCommand {
    static func run(_ options: CreateOptions, _ inv: Invocation) throws -> Int32 {
        let name = options.name
        if let problem = Names.problem(with: name) { throw inv.usage("invalid key name: \(problem)") }
        let description = try description(options, inv)
        let permissions = options.permissions.map(Permissions.init) ?? .read
        let environment = options.environment ?? .live
        let expiresAt = try expiry(options, inv)
        let format = try inv.format(options.format)
        let file = try inv.keystoreFile()

        let (_, record) = try file.update(initial: { Keystore() }) { keystore, _ -> (APIKey, KeyRecord) in
            if keystore.indexInUse(named: name) != nil {
                throw KeyCtlError(
                    .nameTaken, "a key named '\(name)' is already in use",
                    hint: "choose another name, or rotate that key: \(ShellQuoting.command("rotate", argument: name))")
            }
            guard keystore.inUseCount() < keystore.maxKeys else {
                throw KeyCtlError(
                    .keyLimitReached, "the keystore already holds \(keystore.maxKeys) keys that are not revoked (its limit)",
                    hint: "free a slot with 'keyctl revoke KEY' (see 'keyctl list')")
            }
            let (key, record) = inv.makeKey(
                prefix: keystore.prefix, name: name, description: description, environment: environment,
                permissions: permissions, expiresAt: expiresAt)
            keystore.keys.append(record)
            return (key, record)
        } deliver: { key, record in
            inv.json ? inv.context.writeStdout(inv.recordJSON(record, key: key.text)) : inv.context.out(key.formatted(format) + "\n")
        }
        if !inv.json { inv.context.notice("created \(inv.describe(record)); this key is shown only once, so store it now") }
        return 0
    }

    /// --description TEXT; nil when absent or empty.
    static func description(_ options: CreateOptions, _ inv: Invocation) throws -> String? {
        guard let text = options.description, !text.isEmpty else { return nil }
        if let problem = Descriptions.problem(with: text) { throw inv.usage("invalid description: \(problem)") }
        return text
    }

    /// --expires-in or --expires-at (not both); nil for a key that never expires.
    static func expiry(_ options: CreateOptions, _ inv: Invocation) throws -> Timestamp? {
        if options.expiresIn != nil && options.expiresAt != nil {
            throw inv.usage("give --expires-in or --expires-at, not both")
        }
        return try expiry(in: options.expiresIn, at: options.expiresAt, inv, never: "none")
    }

    /// The expiry `--expires-in SECONDS` or `--expires-at TIME` asks for (nil when
    /// neither is given): not past the latest time keyctl stores, not in the past.
    /// `never` says how to ask for a key that never expires instead.
    static func expiry(in seconds: Int64?, at time: Timestamp?, _ inv: Invocation, never: String) throws -> Timestamp? {
        if let seconds {
            return try TimeLimit.later(
                inv.now, by: seconds, what: "--expires-in \(DurationParser.format(seconds))",
                hint: "give a shorter --expires-in, or \(never) for a key that never expires", command: inv.commandName)
        }
        guard let t = time else { return nil }
        guard t > inv.now else { throw inv.usage("--expires-at \(RFC3339.format(t)) is in the past") }
        return t
    }
}
