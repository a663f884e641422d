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
            let due = keystore.keys.indices.filter { isDue(keystore.keys[$0], status: keystore.keys[$0].status(at: now), within: within, now: now) }
            return try due.map { try rotate(at: $0, in: &keystore, grace: grace, expiresIn: expiresIn, inv: inv) }
        } deliver: { rotations in
            deliver(rotations, batch: reference == nil, format: format, inv: inv)
        }
        if !inv.json { notify(rotations, window: window, inv: inv) }
        return 0
    }

    /// Whether `rotate --expiring-within` (and `list --expiring-within`) picks this key:
    /// active or expired, with an expiry no later than `window` from now.
    static func isDue(_ record: KeyRecord, status: KeyStatus, within window: Int64, now: Timestamp) -> Bool {
        guard status == .active || status == .expired, let expiresAt = record.expiresAt else { return false }
        return expiresAt <= now + window
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
        let (key, new) = inv.makeKey(
            prefix: keystore.prefix, name: old.name, environment: old.environment,
            permissions: old.permissions, expiresAt: lifetime.map { now + $0 }, rotatedFrom: old.id)
        keystore.keys[i].rotatedTo = new.id
        keystore.keys[i].revokedAt = now + (grace ?? 0)
        keystore.keys.append(new)
        return Rotation(old: keystore.keys[i], new: new, key: key)
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
    static func notify(_ rotations: [Rotation], window: Int64?, inv: Invocation) {
        let context = inv.context
        for r in rotations {
            let until =
                r.old.status(at: inv.now) == .retiring
                ? "it still verifies until \(RFC3339.format(r.old.revokedAt!))" : "it is revoked"
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
