// verify answers with its exit status: 0 valid, 1 invalid or missing,
// 2 expired, 3 revoked, 4 forbidden. It reads the keystore without the lock and
// builds only the record the key's digest names; with an index of exactly this
// version of the file (KeystoreIndex.swift), it reads only that record. It never
// writes the keystore: last-used times go to the usage file (UsageFile.swift), at
// most once a minute per key, best effort and never at the cost of the answer.

enum VerifyCommand {
    /// last_used_at is kept to this precision, so a hot verify path rarely writes.
    static let stampInterval: Int64 = 60

    static func run(_ options: VerifyOptions, _ inv: Invocation) throws -> Int32 {
        let required = Permissions(options.require ?? [])
        let text = try presentedKey(options, inv)
        guard !text.isEmpty else {
            return answer(inv, .missingAPIKey, "no key given", hint: "pipe the key on standard input, or use --from-env VAR")
        }
        let file = try inv.keystoreFile()
        let key: APIKey
        switch APIKey.parse(text) {
        case .failure(.malformed):
            // Still read the keystore: a missing or corrupt one is the louder problem.
            _ = try file.lookup(digest: nil)
            return answer(inv, .invalidAPIKey, "the key is malformed (expected PREFIX_ENV_BODY)")
        case .failure(.badChecksum):
            _ = try file.lookup(digest: nil)
            return answer(inv, .invalidAPIKey, "the key's checksum does not match: it was mistyped or altered")
        case .success(let parsed):
            key = parsed
        }
        let digest = key.digest
        let keystore = try file.lookup(digest: Array(digest.utf8))
        guard key.prefix == keystore.prefix, let record = keystore.keys.first else {
            return answer(inv, .invalidAPIKey, "the key is not known to this keystore")
        }
        let now = inv.now
        switch record.status(at: now) {
        case .revoked:
            let why = record.rotatedTo != nil ? "its rotation grace ended" : "it was revoked"
            return answer(inv, .revokedAPIKey, "\(inv.describe(record)) is no longer valid: \(why) at \(RFC3339.format(record.revokedAt!))")
        case .expired:
            return answer(inv, .expiredAPIKey, "\(inv.describe(record)) expired at \(RFC3339.format(record.expiresAt!))")
        case .active, .retiring:
            break
        }
        if !record.permissions.grants(required) {
            return answer(
                inv, .forbidden,
                "\(inv.describe(record)) lacks the \(required.subtracting(record.permissions).names.joined(separator: ", ")) permission")
        }
        stamp(record, in: file, now: now)
        if inv.json {
            var w = JSONWriter()
            w.raw("{\"valid\":true")
            w.key("id")
            w.string(record.id)
            w.key("name")
            w.string(record.name)
            w.key("environment")
            w.string(record.environment.rawValue)
            w.key("permissions")
            w.strings(record.permissions.names)
            w.key("expires_at")
            w.time(record.expiresAt)
            w.raw("}\n")
            try inv.output(w.bytes)
        } else {
            try inv.output(
                "valid: \(inv.describe(record)), \(record.environment.rawValue), \(record.permissions.names.joined(separator: ",")), expires \(inv.time(record.expiresAt, none: "never"))\n"
            )
        }
        return 0
    }

    /// The key from the argument, --from-env, or the first line of standard input, trimmed.
    static func presentedKey(_ options: VerifyOptions, _ inv: Invocation) throws -> String {
        let argument = options.key
        let variable = options.fromEnv
        if argument != nil && variable != nil { throw inv.usage("give the key as an argument or with --from-env, not both") }
        if let argument { return argument.trimmingSpaces() }
        if let variable {
            guard !variable.isEmpty else { throw inv.usage("--from-env needs a variable name") }
            return (inv.context.environment(variable) ?? "").trimmingSpaces()
        }
        return (inv.context.readLine() ?? "").trimmingSpaces()
    }

    /// Prints a negative answer (never the key) and returns its exit status.
    static func answer(_ inv: Invocation, _ code: ErrorCode, _ message: String, hint: String = "") -> Int32 {
        if inv.json {
            var w = JSONWriter()
            w.raw("{\"valid\":false")
            w.key("code")
            w.string(code.rawValue)
            w.key("message")
            w.string(Redaction.shown(message))
            w.raw("}\n")
            _ = inv.context.writeStdout(w.bytes)
        } else {
            inv.context.err(KeyCtlError(code, message, hint: hint).description + "\n")
        }
        return code.exitStatus
    }

    /// Appends a stamp to the usage file unless the keystore or the usage file's
    /// recent stamps already have one from the last minute. Never touches the keystore.
    static func stamp(_ record: KeyRecord, in file: KeystoreFile, now: Timestamp) {
        func recent(_ last: Timestamp?) -> Bool { last.map { now - $0 < stampInterval && now >= $0 } ?? false }
        guard !recent(record.lastUsedAt), let prefix = UsageFile.Prefix(hex: record.digest.utf8) else { return }
        let usage = file.usageFile()
        guard !recent(usage.recentTime(of: prefix)) else { return }
        usage.stamp(prefix, at: now)
    }
}
