// `keyctl log [KEY] [--since DURATION] [--verify]`: the audit log, oldest first, or
// (--verify) the check of its whole chain against the keystore's head.

enum LogCommand {
    static func run(_ options: LogOptions, _ inv: Invocation) throws -> Int32 {
        let since = options.since
        let reference = options.key
        let verify = options.verify
        if verify && (since != nil || reference != nil) {
            throw inv.usage("--verify checks the whole log; give it without KEY or --since")
        }
        let (keystore, log) = try inv.keystoreFile().loadWithLog()
        let contents = try log.read(head: keystore.log)
        if verify { return try report(contents, log: log, inv: inv) }

        var entries = contents.entries
        if let since {
            let from = inv.now - since
            entries = entries.filter { $0.time >= from }
        }
        if let reference {
            let id = keystore.index(of: reference).map { keystore.keys[$0].id } ?? reference
            let matches = entries.filter { entry in entry.keys.contains { $0.id == id || $0.name == reference } }
            if matches.isEmpty && !contents.entries.contains(where: { entry in entry.keys.contains { $0.id == id || $0.name == reference } }) {
                throw KeyCtlError(.notFound, "no key '\(reference)' in the keystore or its log", hint: "see 'keyctl list --all' for ids and names")
            }
            entries = matches
        }
        if inv.json {
            var bytes: [UInt8] = [UInt8(ascii: "[")]
            for (i, entry) in entries.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes += entry.encoded()
            }
            bytes += Array("]\n".utf8)
            try inv.output(bytes)
            return 0
        }
        if entries.isEmpty {
            inv.context.notice(contents.entries.isEmpty ? "the log has no entries yet" : "no entries match")
            return 0
        }
        try inv.output(entries.map { line($0) + "\n" }.joined())
        return 0
    }

    /// `log --verify`: the last entry's hash on stdout (to keep elsewhere), a summary on stderr.
    static func report(_ contents: AuditLog.Contents, log: AuditLog, inv: Invocation) throws -> Int32 {
        let count = contents.entries.count
        if inv.json {
            var w = JSONWriter()
            w.raw("{\"valid\":true")
            w.key("entries")
            w.integer(count)
            w.key("hash")
            w.string(contents.lastHash)
            w.key("leftover_lines")
            w.integer(contents.leftoverLines)
            w.raw("}\n")
            try inv.output(w.bytes)
        } else {
            if let hash = contents.lastHash { try inv.output(hash + "\n") }
            inv.context.notice(
                count == 0
                    ? "the log has no entries, and the keystore records none"
                    : "the log's \(count) \(count == 1 ? "entry verifies" : "entries verify") against the keystore; keep the hash above elsewhere to detect a rewrite"
            )
        }
        if contents.leftoverLines > 0 {
            inv.context.notice(
                "\(contents.leftoverLines) line\(contents.leftoverLines == 1 ? "" : "s") after the last entry \(contents.leftoverLines == 1 ? "is" : "are") left from a write that did not finish: not part of the log, and the next write removes \(contents.leftoverLines == 1 ? "it" : "them")"
            )
        }
        return 0
    }

    /// One entry for a person: seq, time, who, command, then what changed.
    static func line(_ entry: AuditEntry) -> String {
        var who = entry.user.map { "\($0) (uid \(entry.uid))" } ?? "uid \(entry.uid) (no name in \(UserNames.source))"
        if let actor = entry.actor { who += " as \(actor)" }
        var what: [String] = entry.keys.map(describe)
        what += entry.settings.map { "\($0.field) \($0.old.text) -> \($0.new.text)" }
        return escaped("\(entry.seq)\t\(RFC3339.format(entry.time))\t\(who)\t\(entry.command)\t\(what.joined(separator: "; "))")
    }

    static func describe(_ key: LogKey) -> String {
        let label = "\(key.id) (\(key.name))"
        // A record always has a name: a name from null is a new key, to null a removed one.
        let name = key.changes.first { $0.field == "name" }
        if name?.old == .null { return "created \(label) \(key.hint)" }
        if name?.new == .null { return "removed \(label)" }
        if key.changes.isEmpty { return label }
        return label + ": " + key.changes.map { "\($0.field) \($0.old.text) -> \($0.new.text)" }.joined(separator: ", ")
    }

    /// A hand-edited log may hold anything: control characters are shown escaped, so
    /// an entry is one line and never drives the terminal.
    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control && scalar != "\t" {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return Redaction.redactingKeys(in: out)
    }
}
