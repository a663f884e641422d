enum InitCommand {
    static func run(_ options: InitOptions, _ inv: Invocation) throws -> Int32 {
        let prefix = options.prefix ?? Keystore.defaultPrefix
        guard Names.isValidPrefix(prefix) else {
            throw inv.usage("invalid prefix '\(prefix)' (2-10 lowercase letters or digits)")
        }
        let maxKeys = options.maxKeys ?? Keystore.defaultMaxKeys
        let file = try inv.keystoreFile()
        _ = try file.update(initial: { Keystore(prefix: prefix, maxKeys: maxKeys) }) { keystore, existed in
            if existed {
                throw KeyCtlError(
                    .keystoreExists, "there is a keystore at \(file.path) already",
                    hint: "keep using it, or pass --keystore PATH to make another")
            }
            return keystore
        } deliver: { keystore in
            !inv.json || inv.context.writeStdout(json(keystore, path: file.path))
        }
        if !inv.json {
            inv.context.notice("created keystore \(file.path) (prefix \(prefix), at most \(maxKeys) keys in use)")
        }
        return 0
    }

    /// The settings as --json prints them; `counts` adds the keys in use and the
    /// records (`config`).
    static func json(_ keystore: Keystore, path: String, counts: Bool = false) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"keystore\":")
        w.string(path)
        w.key("version")
        w.integer(keystore.version)
        w.key("prefix")
        w.string(keystore.prefix)
        w.key("max_keys")
        w.integer(keystore.maxKeys)
        if counts {
            w.key("in_use")
            w.integer(keystore.inUseCount())
            w.key("records")
            w.integer(keystore.keys.count)
        }
        w.raw("}\n")
        return w.bytes
    }
}
