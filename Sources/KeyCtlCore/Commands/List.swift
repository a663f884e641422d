enum ListCommand {
    static func run(_ options: ListOptions, _ inv: Invocation) throws -> Int32 {
        let filter = ListFilter(statuses: options.statuses, all: options.all, expiringWithin: options.expiringWithin, now: inv.now)
        // Streamed: a record at a time, never the whole keystore in memory (ListStream.swift).
        if inv.json {
            try ListStream.printJSON(inv, filter: filter)
            return 0
        }
        // Streamed as well when the file is in keyctl's layout (ListStream.printRows);
        // else the whole keystore is loaded. The same rows either way.
        if let counts = try ListStream.printRows(inv, filter: filter) {
            if counts.kept == 0 { noMatch(options, inv, records: counts.records, anyRevoked: counts.anyRevoked) }
            return 0
        }
        let now = inv.now
        let keystore = try inv.keystoreFile().load()
        let records = newestFirst(keystore.keys).filter { filter.keeps($0) != nil }
        guard !records.isEmpty else {
            noMatch(options, inv, records: keystore.keys.count, anyRevoked: keystore.keys.contains { $0.status(at: now) == .revoked })
            return 0
        }
        let rows = records.map { row($0, status: $0.status(at: now), inv) }
        try inv.output(inv.context.stdoutIsTerminal ? table(rows, color: inv.context.useColor) : tabSeparated(rows))
        return 0
    }

    /// The notice when no key is listed.
    static func noMatch(_ options: ListOptions, _ inv: Invocation, records: Int, anyRevoked: Bool) {
        let hidden = options.statuses == nil && !options.all && anyRevoked
        inv.context.notice(
            records == 0
                ? "no keys yet; make one with 'keyctl create NAME'"
                : hidden ? "no keys match; revoked keys are left out (see 'keyctl list --all')" : "no keys match")
    }

    /// One key's cells, in the header's order.
    static func row(_ r: KeyRecord, status: KeyStatus, _ inv: Invocation) -> [String] {
        [
            r.id, Redaction.shown(r.name), r.environment.rawValue, r.permissions.names.joined(separator: ","), status.rawValue,
            RFC3339.format(r.createdAt), inv.time(r.expiresAt, none: "never"), inv.time(r.lastUsedAt, none: "never"),
        ]
    }

    static let header = ["ID", "NAME", "ENV", "PERMISSIONS", "STATUS", "CREATED", "EXPIRES", "LAST USED"]

    /// For a person: a header and columns aligned by display width (wide characters
    /// take two columns, combining marks none).
    static func table(_ rows: [[String]], color: Bool) -> String {
        var widths = header.map(DisplayWidth.of)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], DisplayWidth.of(cell)) }
        }
        var text = ""
        for (rowIndex, row) in ([header] + rows).enumerated() { tableLine(row, widths: widths, color: color && rowIndex > 0, to: &text) }
        return text
    }

    /// One line of the table: each cell padded to its column's width and two spaces,
    /// the status coloured when `color`.
    static func tableLine(_ row: [String], widths: [Int], color: Bool, to text: inout String) {
        for (i, cell) in row.enumerated() {
            var shown = cell
            if color && i == 4, let status = KeyStatus(rawValue: cell) { shown = paint(cell, status) }
            text += shown
            if i < row.count - 1 { text += String(repeating: " ", count: widths[i] - DisplayWidth.of(cell) + 2) }
        }
        text += "\n"
    }

    /// For a pipe: the same columns separated by tabs, one key a line, no header, no
    /// padding, no colour, so `cut -f2` or `awk -F'\t'` gets a name with spaces whole.
    /// A cell never holds a tab or a newline (Redaction.shown escapes them).
    static func tabSeparated(_ rows: [[String]]) -> String {
        rows.map { $0.joined(separator: "\t") + "\n" }.joined()
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
