enum ShowCommand {
    static func run(_ options: ShowOptions, _ inv: Invocation) throws -> Int32 {
        let keystore = try inv.keystoreFile().load()
        let record = keystore.keys[try inv.resolve(options.key, in: keystore)]
        if inv.json {
            try inv.output(inv.recordJSON(record))
            return 0
        }
        let fields: [(String, String)] = [
            ("id", record.id),
            ("name", Redaction.shown(record.name)),
            ("hint", record.hint),
            ("environment", record.environment.rawValue),
            ("permissions", record.permissions.names.joined(separator: ",")),
            ("status", record.status(at: inv.now).rawValue),
            ("created_at", RFC3339.format(record.createdAt)),
            ("expires_at", inv.time(record.expiresAt, none: "never")),
            ("revoked_at", inv.time(record.revokedAt)),
            ("last_used_at", inv.time(record.lastUsedAt, none: "never")),
            ("rotated_from", record.rotatedFrom ?? "-"),
            ("rotated_to", record.rotatedTo ?? "-"),
        ]
        try inv.output(fields.map { "\($0.0):" + String(repeating: " ", count: 14 - $0.0.count) + $0.1 + "\n" }.joined())
        return 0
    }
}
