// One run of a command: the parsed command line, the context, and the helpers
// every command shares (where the keystore is, output). The command's own options
// come to it as a typed struct (CommandTable.swift), not through here.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

public struct Invocation {
    public let arguments: ParsedArguments
    public let spec: CommandSpec
    public let context: Context
    public let now: Timestamp

    /// The usage file's stamps, read once, the first time a record is printed.
    let usage = UsageTimes()

    var json: Bool { arguments.json }
    var commandName: String { spec.name.rawValue }

    func usage(_ message: String) -> KeyCtlError { .usage(message, command: commandName) }

    /// --keystore, else $KEYCTL_KEYSTORE, else $XDG_DATA_HOME/keyctl/keystore.json,
    /// else $HOME/.local/share/keyctl/keystore.json. Empty variables count as unset.
    public static func keystorePath(option: String?, environment: (String) -> String?) throws -> String {
        func nonEmpty(_ name: String) -> String? { environment(name).flatMap { $0.isEmpty ? nil : $0 } }
        if let option {
            guard !option.isEmpty else { throw KeyCtlError.usage("--keystore needs a path, not an empty string") }
            // `--keystore=~/x.json` reaches keyctl unexpanded (the shell expands only a
            // word-initial ~): expand a leading `~/` or a lone `~` from $HOME, as a shell would.
            if option == "~" || option.hasPrefix("~/") {
                guard let home = nonEmpty("HOME") else { throw KeyCtlError.usage("--keystore \(option) starts with ~, but HOME is not set") }
                return home + option.dropFirst()
            }
            return option
        }
        if let path = nonEmpty("KEYCTL_KEYSTORE") { return path }
        // The XDG Base Directory spec: a relative XDG_DATA_HOME is invalid and ignored.
        if let data = nonEmpty("XDG_DATA_HOME"), data.hasPrefix("/") { return data + "/keyctl/keystore.json" }
        if let home = nonEmpty("HOME") { return home + "/.local/share/keyctl/keystore.json" }
        throw KeyCtlError(.keystoreNotFound, "no keystore location: HOME is not set", hint: "pass --keystore PATH or set KEYCTL_KEYSTORE")
    }

    func keystoreFile() throws -> KeystoreFile {
        var file = try Invocation.keystoreReader(option: arguments.globals.keystore, context: context)
        file.lockTimeout = try lockTimeout()
        file.author = author()
        return file
    }

    /// The keystore as every reader opens it: the path, the context's seam, and the
    /// trust rule's $KEYCTL_TRUSTED_OWNER. The completion helper reads through this too.
    static func keystoreReader(option: String?, context: Context) throws -> KeystoreFile {
        var file = KeystoreFile(path: try keystorePath(option: option, environment: context.environment))
        file.system = context.system
        file.trustedOwner = try trustedOwner(context)
        return file
    }

    /// $KEYCTL_TRUSTED_OWNER: a user name or uid whose keystores this process reads as
    /// it reads its own (a keystore an operator shares with a service). Unset or empty: none.
    static func trustedOwner(_ context: Context) throws -> uid_t? {
        guard let raw = context.environment("KEYCTL_TRUSTED_OWNER"), !raw.isEmpty else { return nil }
        if let uid = UInt32(raw) { return uid_t(uid) }
        guard let uid = context.system.userNamed(raw) else {
            throw KeyCtlError(
                .usage, "KEYCTL_TRUSTED_OWNER names no user in \(UserNames.source): '\(raw)'",
                hint: "user names are read from \(UserNames.source) only: for a user of a directory service (LDAP, sssd) "
                    + "give the numeric uid ('id -u NAME'); see '\(ShellQuoting.command("--help"))'"
            )
        }
        return uid
    }

    /// Who runs this command, for the audit log: the uid and its name, and
    /// `$KEYCTL_ACTOR` when set (a CI job, a ticket).
    func author() -> AuditAuthor {
        let uid = Int64(context.system.userID())
        var author = AuditAuthor(command: commandName, time: now, uid: uid, user: UserNames.name(of: uid), actor: nil)
        if let actor = context.environment("KEYCTL_ACTOR"), !actor.isEmpty { author.actor = actor }
        return author
    }

    func lockTimeout() throws -> Double {
        guard let raw = context.environment("KEYCTL_LOCK_TIMEOUT"), !raw.isEmpty else { return 10 }
        guard let seconds = Double(raw), seconds >= 0, seconds <= 86400, seconds.isFinite else {
            throw KeyCtlError.usage("KEYCTL_LOCK_TIMEOUT must be a number of seconds from 0 to 86400, not '\(raw)'")
        }
        return seconds
    }

    /// The --format given (raw by default), which --json replaces.
    func format(_ given: APIKey.Format?) throws -> APIKey.Format {
        guard let given else { return .raw }
        if json { throw usage("--format cannot be combined with --json (the JSON has the raw key in \"key\")") }
        return given
    }

    /// Writes data to stdout; a failure is IO_ERROR.
    func output(_ bytes: [UInt8]) throws {
        guard context.writeStdout(bytes) else {
            throw KeyCtlError(.ioError, "could not write to standard output")
        }
    }

    func output(_ text: String) throws { try output(Array(text.utf8)) }

    // MARK: Records

    /// A record as --json prints it: the fields RecordSchema marks for output, and
    /// the secret in "key" for the one create or rotate that made it. Every command
    /// prints records through here, so every one shows `last_used_at` merged with the
    /// usage file (`shown`), writers (revoke, rotate, update, prune) included.
    func writeRecord(_ r: KeyRecord, to w: inout JSONWriter, key: String? = nil) {
        w.raw("{")
        RecordSchema.writeMembers(shown(r), to: &w, now: now)
        if let key {
            w.key("key")
            w.string(key)
        }
        w.raw("}")
    }

    func recordJSON(_ r: KeyRecord, key: String? = nil) -> [UInt8] {
        var w = JSONWriter()
        writeRecord(r, to: &w, key: key)
        w.raw("\n")
        return w.bytes
    }

    func recordsJSON(_ records: [KeyRecord]) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + records.count * 360)
        w.raw("[")
        for (i, r) in records.enumerated() {
            if i > 0 { w.raw(",") }
            writeRecord(r, to: &w)
        }
        w.raw("]\n")
        return w.bytes
    }

    /// The record as it is shown: its `last_used_at` the newer of its own and its
    /// newest stamp in the usage file (UsageFile.swift). A record `load` returned is
    /// merged already; merging again changes nothing.
    func shown(_ r: KeyRecord) -> KeyRecord {
        var r = r
        r.lastUsedAt = r.lastUsed(merging: usage.times { try? keystoreFile().usageFile() })
        return r
    }

    /// The key's reference for a person: `key_… (name)`.
    func describe(_ r: KeyRecord) -> String { "\(r.id) (\(r.name))" }

    func time(_ t: Timestamp?, none: String = "-") -> String { t.map(RFC3339.format) ?? none }

    /// Finds a KEY argument; NOT_FOUND says how to find the right one.
    func resolve(_ reference: String, in keystore: Keystore) throws -> Int {
        if let i = keystore.index(of: reference) { return i }
        // Any record of that name, read in place: no revoked record kept as bytes is built.
        let shadowed = keystore.keys.contains(named: reference)
        let hint =
            shadowed
            ? "no key in use has that name; a revoked or retiring key is addressed by its id (see 'keyctl list')"
            : "see 'keyctl list' for ids and names"
        throw KeyCtlError(.notFound, "no key '\(reference)'", hint: hint)
    }

    /// Makes a key and its record; the caller adds the record to the keystore.
    func makeKey(
        prefix: String, name: String, description: String? = nil, environment: KeyEnvironment, permissions: Permissions,
        expiresAt: Timestamp?, rotatedFrom: String? = nil
    ) -> (APIKey, KeyRecord) {
        let key = APIKey.generate(prefix: prefix, environment: environment, randomBytes: context.randomBytes)
        let id = "key_" + Base62.random(count: KeyRecord.idDigits, randomBytes: context.randomBytes)
        let record = KeyRecord(
            id: id, name: name, description: description, digest: key.digest, hint: key.hint, environment: environment,
            permissions: permissions, createdAt: now, expiresAt: expiresAt, rotatedFrom: rotatedFrom)
        return (key, record)
    }
}
