// verify answers with its exit status: 0 valid, 1 invalid or missing,
// 2 expired, 3 revoked, 4 forbidden. It reads the keystore without the lock and
// builds only the record the key's digest names; with an index of exactly this
// version of the file (KeystoreIndex.swift), it reads only that record. It never
// writes the keystore: last-used times go to the usage file (UsageFile.swift), at
// most once a minute per key, best effort and never at the cost of the answer.
//
// One judgement (`judge`) serves the single answer and every line of `--batch`
// (VerifyBatch.swift); they differ only in how they find a record and print.

enum VerifyCommand {
    /// last_used_at is kept to this precision, so a hot verify path rarely writes.
    static let stampInterval: Int64 = 60

    /// One answer: valid when `code` is nil. `record` is the key's, when keyctl knew it.
    struct Answer {
        var code: ErrorCode?
        var message: String = ""
        var hint: String = ""
        var record: KeyRecord?

        var exitStatus: Int32 { code?.exitStatus ?? 0 }
    }

    /// Where `judge` looks a key up: the keystore's prefix and the record with this
    /// digest (64 lowercase hex), if any. Called with nil for a key that did not parse,
    /// so a missing or corrupt keystore is still the louder problem.
    typealias Lookup = (_ digest: String?) throws -> (prefix: String, record: KeyRecord?)

    static func run(_ options: VerifyOptions, _ inv: Invocation) throws -> Int32 {
        let required = Permissions(options.require ?? [])
        let stamping = !options.noStamp
        if options.batch { return try VerifyBatch.run(options, inv, required: required, stamping: stamping) }
        let text = try presentedText(options, inv)
        // A reader: no lock timeout, no audit author (whose user name lookup reads /etc/passwd).
        let file = try Invocation.keystoreReader(option: inv.arguments.globals.keystore, context: inv.context)
        let answer = try judge(text, required: required, now: inv.now, inv: inv) { digest in
            let keystore = try file.lookup(digest: digest.map { Array($0.utf8) })
            return (keystore.prefix, keystore.keys.first)
        }
        if answer.code == nil, let record = answer.record, stamping {
            stamp(record, in: file, now: inv.now)
        }
        if inv.json {
            try inv.output(json(answer))
        } else if let code = answer.code {
            inv.context.err(KeyCtlError(code, answer.message, hint: answer.hint).description + "\n")
        } else if let record = answer.record {
            try inv.output(
                "valid: \(inv.describe(record)), \(record.environment.rawValue), \(commaSeparated(record.permissions.names)), expires \(inv.time(record.expiresAt, none: "never"))\n"
            )
        }
        return answer.exitStatus
    }

    /// "read,write": `joined(separator:)` is generic over the element's protocol and
    /// looks its conformance up at run time, a cost at start-up.
    static func commaSeparated(_ names: [String]) -> String {
        var text = ""
        for name in names {
            if !text.isEmpty { text += "," }
            text += name
        }
        return text
    }

    /// The answer for one presented text (trimmed): the key or any form PresentedKey reads.
    static func judge(_ text: String, required: Permissions, now: Timestamp, inv: Invocation, lookup: Lookup) throws -> Answer {
        guard !text.isEmpty else {
            return Answer(code: .missingAPIKey, message: "no key given", hint: "pipe the key on standard input, or use --from-env VAR")
        }
        let key: APIKey
        switch PresentedKey.unwrap(text).map(APIKey.parse) ?? .failure(.malformed) {
        case .failure(.malformed):
            _ = try lookup(nil)
            return Answer(
                code: .invalidAPIKey,
                message: "the key is malformed (expected PREFIX_ENV_BODY, or a header 'keyctl create --format' prints)")
        case .failure(.badChecksum):
            _ = try lookup(nil)
            return Answer(code: .invalidAPIKey, message: "the key's checksum does not match: it was mistyped or altered")
        case .success(let parsed):
            key = parsed
        }
        let (prefix, found) = try lookup(key.digest)
        guard key.prefix == prefix, let record = found else {
            return Answer(code: .invalidAPIKey, message: "the key is not known to this keystore")
        }
        // Built only for a negative answer: a valid one (the hot path of --batch) names no one in text.
        var who: String { inv.describe(record) }
        switch record.status(at: now) {
        case .revoked:
            // Rare: a rotated key's reason needs its successor's rotation time (one full read),
            // to tell a rotation without grace from a grace that ran out.
            let successor = try record.rotatedTo.flatMap { id in try inv.keystoreFile().load().keys.first { $0.id == id } }
            let why = record.revocationReason(successorCreatedAt: successor?.createdAt)
            return Answer(code: .revokedAPIKey, message: "\(who) is no longer valid: \(why)", record: record)
        case .expired:
            return Answer(code: .expiredAPIKey, message: "\(who) expired at \(RFC3339.format(record.expiresAt!))", record: record)
        case .active, .retiring:
            break
        }
        if !record.permissions.grants(required) {
            let missing = required.subtracting(record.permissions).names.joined(separator: ", ")
            return Answer(code: .forbidden, message: "\(who) lacks the \(missing) permission", record: record)
        }
        return Answer(code: nil, record: record)
    }

    /// The --json answer (one line), with `"line":N` first in a batch.
    static func json(_ answer: Answer, line: Int? = nil) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{")
        if let line {
            w.key("line", first: true)
            w.integer(line)
            w.raw(",")
        }
        guard let code = answer.code else {
            let record = answer.record!
            w.raw("\"valid\":true")
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
            return w.bytes
        }
        w.raw("\"valid\":false")
        w.key("code")
        w.string(code.rawValue)
        w.key("message")
        w.string(Redaction.shown(answer.message))
        // A key keyctl recognised (expired, revoked, forbidden) says which it was.
        if let record = answer.record {
            w.key("id")
            w.string(record.id)
            w.key("name")
            w.string(record.name)
            w.key("expires_at")
            w.time(record.expiresAt)
            w.key("revoked_at")
            w.time(record.revokedAt)
        }
        w.raw("}\n")
        return w.bytes
    }

    /// The text from the argument, --from-env, or the first line of standard input, trimmed.
    static func presentedText(_ options: VerifyOptions, _ inv: Invocation) throws -> String {
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

    /// The one place verify records a use: a stamp appended to the usage file unless
    /// the keystore or the usage file's recent stamps already have one from the last
    /// minute. Never touches the keystore.
    static func stamp(_ record: KeyRecord, in file: KeystoreFile, now: Timestamp) {
        func recent(_ last: Timestamp?) -> Bool { last.map { now - $0 < stampInterval && now >= $0 } ?? false }
        guard !recent(record.lastUsedAt), let prefix = UsageFile.Prefix(hex: record.digest.utf8) else { return }
        let usage = file.usageFile()
        guard !recent(usage.recentTime(of: prefix)) else { return }
        usage.stamp(prefix, at: now)
    }
}
