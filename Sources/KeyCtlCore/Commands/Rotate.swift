enum RotateCommand {
    /// The longest grace period a rotation may have.
    static let maximumGrace: Int64 = 7 * 86400

    struct Rotation {
        var old: KeyRecord
        var new: KeyRecord
        var key: APIKey
    }

    static func run(_ options: RotateOptions, _ inv: Invocation) throws -> Int32 {
        let grace = options.grace
        let expiresIn = options.expiresIn
        let window = options.expiringWithin
        let format = try inv.format(options.format)
        let reference = options.key
        switch (reference, window) {
        case (.some, .some): throw inv.usage("give a KEY or --expiring-within, not both")
        case (.none, .none): throw inv.usage("rotate needs a KEY, or --expiring-within DURATION to rotate every key about to expire")
        default: break
        }
        let now = inv.now
        let file = try inv.keystoreFile()

        let rotations = try file.update { keystore, _ -> [Rotation] in
            if let reference {
                let i = try inv.resolve(reference, in: keystore)
                return [try rotate(at: i, in: &keystore, grace: grace, expiresIn: expiresIn, inv: inv)]
            }
            let within = window ?? 0
            // Only an active or expired key is due: one in use (no stored record is).
            let due = keystore.keys.inUseIndices().filter { i in
                let record = keystore.keys[i]
                return record.isDueForRotation(status: record.status(at: now), within: within, now: now)
            }
            return try due.map { try rotate(at: $0, in: &keystore, grace: grace, expiresIn: expiresIn, inv: inv) }
        } deliver: { rotations in
            deliver(rotations, batch: reference == nil, format: format, inv: inv)
        }
        if !inv.json { notify(rotations, window: window, grace: grace, inv: inv) }
        // Also with --json: a scheduled step's log must show it.
        for warning in windowWarnings(rotations, window: window, now: now, inv: inv) { inv.context.notice(warning) }
        return 0
    }

    /// One warning per new key that the same `--expiring-within` window already picks:
    /// its lifetime is no longer than the window, so every run would rotate it again.
    static func windowWarnings(_ rotations: [Rotation], window: Int64?, now: Timestamp, inv: Invocation) -> [String] {
        guard let window else { return [] }
        let span = DurationParser.format(window)
        return rotations.compactMap { r in
            guard let expiresAt = r.new.expiresAt, expiresAt <= now + window else { return nil }
            return "warning: the new key \(inv.describe(r.new)) expires at \(RFC3339.format(expiresAt)), within the \(span) window,"
                + " so the next 'rotate --expiring-within \(span)' rotates it again; give --expires-in longer than \(span)"
        }
    }

    static func rotate(at i: Int, in keystore: inout Keystore, grace: Int64?, expiresIn: Int64?, inv: Invocation) throws -> Rotation {
        let now = inv.now
        let old = keystore.keys[i]
        switch old.status(at: now) {
        case .revoked:
            throw KeyCtlError(
                .keyRevoked, "\(inv.describe(old)) is revoked, and a revoked key cannot be rotated",
                hint: "make a new key with 'keyctl create'")
        case .retiring:
            throw KeyCtlError(
                .keyRevoked, "\(inv.describe(old)) is already retiring (rotated to \(old.rotatedTo ?? "another key"))",
                hint: "rotate its replacement instead")
        case .active, .expired:
            break
        }
        // The new key lives as long as the old one was meant to, unless told otherwise.
        let lifetime = expiresIn ?? old.expiresAt.map { max($0 - old.createdAt, 1) }
        let expiresAt = try lifetime.map { lifetime in
            try TimeLimit.later(
                now, by: lifetime,
                what: expiresIn != nil
                    ? "--expires-in \(DurationParser.format(lifetime))"
                    : "the new key's lifetime (\(DurationParser.format(lifetime)), as long as \(inv.describe(old))'s)",
                hint: "give --expires-in DURATION for the new key", command: inv.commandName)
        }
        var (key, new) = inv.makeKey(
            prefix: keystore.prefix, name: old.name, environment: old.environment,
            permissions: old.permissions, expiresAt: expiresAt, rotatedFrom: old.id)
        // The name, description, environment and permissions: what RecordSchema says rotate keeps.
        RecordSchema.carryOver(from: old, to: &new)
        keystore.keys[i].rotatedTo = new.id
        keystore.keys[i].revokedAt = try retirement(of: old, grace: grace, now: now, inv: inv)
        keystore.keys.append(new)
        return Rotation(old: keystore.keys[i], new: new, key: key)
    }

    /// When the old key stops verifying: now, or with a grace, `now + grace` but never
    /// after its own expiry (a grace does not lengthen a key's life). A key that had
    /// already expired is revoked at once.
    static func retirement(of old: KeyRecord, grace: Int64?, now: Timestamp, inv: Invocation) throws -> Timestamp {
        guard let grace else { return now }
        let end = try TimeLimit.later(
            now, by: grace, what: "--grace \(DurationParser.format(grace))", hint: "give a shorter --grace", command: inv.commandName)
        return max(now, min(end, old.expiresAt ?? end))
    }

    static func deliver(_ rotations: [Rotation], batch: Bool, format: APIKey.Format, inv: Invocation) -> Bool {
        let context = inv.context
        if inv.json {
            var w = JSONWriter()
            if batch { w.raw("[") }
            for (n, r) in rotations.enumerated() {
                if n > 0 { w.raw(",") }
                w.raw("{\"old\":")
                inv.writeRecord(r.old, to: &w)
                w.raw(",\"new\":")
                inv.writeRecord(r.new, to: &w, key: r.key.text)
                w.raw("}")
            }
            if batch { w.raw("]") }
            w.raw("\n")
            return context.writeStdout(w.bytes)
        }
        if batch {
            let text = rotations.map { "\($0.new.name)\t\($0.key.formatted(format))\n" }.joined()
            guard text.isEmpty || context.out(text) else { return false }
        } else {
            guard context.out(rotations[0].key.formatted(format) + "\n") else { return false }
        }
        return true
    }

    /// The notices on stderr, once the rotation is committed.
    static func notify(_ rotations: [Rotation], window: Int64?, grace: Int64?, inv: Invocation) {
        let context = inv.context
        for r in rotations {
            let until: String
            let end = r.old.revokedAt ?? inv.now
            switch r.old.status(at: inv.now) {
            case .retiring where end == r.old.expiresAt:
                until = "it still verifies until \(RFC3339.format(end)), when it expires"
            case .retiring:
                until = "it still verifies until \(RFC3339.format(end))"
            default:
                until = grace != nil ? "it had already expired, so it is revoked now" : "it is revoked"
            }
            context.notice("rotated \(inv.describe(r.old)) to \(r.new.id); \(until)")
        }
        if rotations.isEmpty {
            context.notice("no key expires within \(DurationParser.format(window ?? 0))")
        } else {
            context.notice(
                rotations.count == 1 ? "the new key is shown only once, so store it now" : "the new keys are shown only once, so store them now")
        }
    }
}
