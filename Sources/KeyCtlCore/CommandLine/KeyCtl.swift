// The whole program as a function: arguments and a context in, an exit status out.
// main.swift only wires the process to it.

public enum KeyCtl {
    public static func run(_ arguments: [String], context: Context) -> Int32 {
        let json = wantsJSON(arguments)
        if let keystoreOption = completionRequest(arguments) {
            return completeKeys(keystoreOption: keystoreOption, context: context)
        }
        do {
            let parsed = try ArgumentParser.parse(arguments)
            if parsed.wantsHelp {
                _ = context.out(Help.text(for: parsed.command))
                return 0
            }
            if parsed.wantsVersion {
                _ = context.out("keyctl \(CommandTable.version)\n")
                return 0
            }
            guard let spec = parsed.command else {
                throw KeyCtlError.usage("missing command (one of: \(CommandTable.commands.map { $0.name.rawValue }.joined(separator: ", ")))")
            }
            try ArgumentParser.checkArity(parsed, spec)
            let invocation = Invocation(arguments: parsed, spec: spec, context: context, now: context.now())
            switch spec.name {
            case .`init`: return try InitCommand.run(invocation)
            case .create: return try CreateCommand.run(invocation)
            case .list: return try ListCommand.run(invocation)
            case .show: return try ShowCommand.run(invocation)
            case .revoke: return try RevokeCommand.run(invocation)
            case .rotate: return try RotateCommand.run(invocation)
            case .verify: return try VerifyCommand.run(invocation)
            case .completions: return try CompletionsCommand.run(invocation)
            case .help: return try HelpCommand.run(invocation)
            }
        } catch let error as KeyCtlError {
            report(error, json: json, context: context)
            return error.code.exitStatus
        } catch {
            let wrapped = KeyCtlError(.ioError, "\(error)")
            report(wrapped, json: json, context: context)
            return wrapped.code.exitStatus
        }
    }

    /// Errors go to stderr only: one line for a person, or `{"error":{…}}` with --json.
    /// Both go through KeyCtlError.text, which shows anything shaped like a key as its hint.
    static func report(_ error: KeyCtlError, json: Bool, context: Context) {
        if json {
            var w = JSONWriter()
            w.raw("{\"error\":{\"code\":")
            w.string(error.code.rawValue)
            w.key("message")
            w.string(error.text)
            w.raw("}}\n")
            _ = context.writeStderr(w.bytes)
        } else {
            context.err(error.description + "\n")
        }
    }

    /// `--json` anywhere before `--` asks for JSON errors too, even on a bad command line.
    static func wantsJSON(_ arguments: [String]) -> Bool {
        for a in arguments {
            if a == "--" { return false }
            if a == "--json" { return true }
        }
        return false
    }

    /// Whether this is the completion scripts' hidden helper: `__complete-keys` in the
    /// command's place, after nothing but `--keystore PATH`. Returns the keystore option
    /// (nil inside: none given). A key named `__complete-keys` is still just a name.
    static func completionRequest(_ arguments: [String]) -> String?? {
        var keystore: String?
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--keystore", i + 1 < arguments.count {
                keystore = arguments[i + 1]
                i += 2
            } else if a.hasPrefix("--keystore=") {
                keystore = String(a.dropFirst("--keystore=".count))
                i += 1
            } else {
                return a == Completions.keyNamesCommand ? .some(keystore) : nil
            }
        }
        return nil
    }

    /// Hidden helper for the completion scripts: names of keys in use, one a line.
    /// Silent, and exit 0, whatever goes wrong.
    static func completeKeys(keystoreOption: String?, context: Context) -> Int32 {
        guard let path = try? Invocation.keystorePath(option: keystoreOption, environment: context.environment),
            let keystore = try? KeystoreFile(path: path).load()
        else { return 0 }
        let names = keystore.keys.filter { $0.isInUse }.map { $0.name + "\n" }.joined()
        _ = context.out(names)
        return 0
    }
}
