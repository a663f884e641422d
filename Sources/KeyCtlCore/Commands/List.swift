enum ListCommand {
    static func run(_ options: ListOptions, _ inv: Invocation) throws -> Int32 {
        let statuses = options.statuses.map(Set.init)
        let window = options.expiringWithin
        let keystore = try inv.keystoreFile().load()
        let now = inv.now
        let records = newestFirst(keystore.keys).filter { record in
            let status = record.status(at: now)
            if let statuses, !statuses.contains(status) { return false }
            if let window { return RotateCommand.isDue(record, status: status, within: window, now: now) }
            return true
        }
        if inv.json {
            try inv.output(inv.recordsJSON(records))
            return 0
        }
        guard !records.isEmpty else {
            inv.context.notice(keystore.keys.isEmpty ? "no keys yet; make one with 'keyctl create NAME'" : "no keys match")
            return 0
        }
        let color = inv.context.useColor
        let rows = records.map { r -> [String] in
            let status = r.status(at: now)
            return [
                r.id, Redaction.shown(r.name), r.environment.rawValue, r.permissions.names.joined(separator: ","), status.rawValue,
                RFC3339.format(r.createdAt), inv.time(r.expiresAt, none: "never"), inv.time(r.lastUsedAt, none: "never"),
            ]
        }
        let header = ["ID", "NAME", "ENV", "PERMISSIONS", "STATUS", "CREATED", "EXPIRES", "LAST USED"]
        var widths = header.map { $0.count }
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var text = ""
        for (rowIndex, row) in ([header] + rows).enumerated() {
            for (i, cell) in row.enumerated() {
                let isLast = i == row.count - 1
                var shown = cell
                if color && rowIndex > 0 && i == 4, let status = KeyStatus(rawValue: cell) { shown = paint(cell, status) }
                text += shown
                if !isLast { text += String(repeating: " ", count: widths[i] - cell.count + 2) }
            }
            text += "\n"
        }
        try inv.output(text)
        return 0
    }

    /// Newest first: by created_at, and among keys made in the same second, the later-made first.
    static func newestFirst(_ keys: [KeyRecord]) -> [KeyRecord] {
        keys.enumerated().sorted { a, b in
            a.element.createdAt != b.element.createdAt ? a.element.createdAt > b.element.createdAt : a.offset > b.offset
        }.map { $0.element }
    }

    static func paint(_ text: String, _ status: KeyStatus) -> String {
        let code: String
        switch status {
        case .active: code = "32"
        case .expired: code = "33"
        case .retiring: code = "36"
        case .revoked: code = "31"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
