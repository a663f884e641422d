enum ShowCommand {
    static func run(_ options: ShowOptions, _ inv: Invocation) throws -> Int32 {
        let keystore = try inv.keystoreFile().load()
        let record = keystore.keys[try inv.resolve(options.key, in: keystore)]
        if inv.json {
            try inv.output(inv.recordJSON(record))
            return 0
        }
        let fields = RecordSchema.showLines(record, now: inv.now)
        try inv.output(fields.map { "\($0.0):" + String(repeating: " ", count: 14 - $0.0.count) + $0.1 + "\n" }.joined())
        return 0
    }
}
