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
            // --help and --version print data like any command: a failed write is
            // IO_ERROR (74), as it is for `help`.
            if parsed.wantsHelp {
                try print(Help.text(for: parsed.command), context)
                return 0
            }
            if parsed.wantsVersion {
                try print("keyctl \(CommandTable.version)\n", context)
                return 0
            }
            guard let spec = parsed.command else {
                // A bare `keyctl`: what there is to run, then the one-line error.
                if !json { context.err(Help.commandList()) }
                throw KeyCtlError.usage("missing command")
            }
            try ArgumentParser.checkArity(parsed, spec)
            let invocation = Invocation(arguments: parsed, spec: spec, context: context, now: context.now())
            return try spec.execute(parsed, invocation)
        } catch let error as KeyCtlError {
            report(error, json: json, context: context)
            return error.code.exitStatus
        } catch {
            let wrapped = KeyCtlError(.ioError, "\(error)")
            report(wrapped, json: json, context: context)
            return wrapped.code.exitStatus
        }
    }

    /// The command line without argv[0], read from argv itself: `CommandLine.arguments`
    /// builds the same array through a global initialiser that costs a measurable part
    /// of `keyctl --version`. Bytes that are not UTF-8 are repaired as it repairs them.
    public static func arguments(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> [String] {
        var arguments: [String] = []
        arguments.reserveCapacity(max(Int(argc) - 1, 0))
        var i = 1
        while i < Int(argc), let word = argv[i] {
            arguments.append(String(cString: word))
            i += 1
        }
        return arguments
    }

    static func print(_ text: String, _ context: Context) throws {
        guard context.out(text) else { throw KeyCtlError(.ioError, "could not write to standard output") }
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
    /// Silent, and exit 0, whatever goes wrong. It reads the keystore the way every
    /// reader does (Invocation.keystoreReader): a keystore the trust rule refuses lists
    /// nothing, and one that is not a regular file (a FIFO) is never waited on.
    static func completeKeys(keystoreOption: String?, context: Context) -> Int32 {
        guard let file = try? Invocation.keystoreReader(option: keystoreOption, context: context),
            let keystore = try? file.load()
        else { return 0 }
        let names = keystore.keys.filter { $0.isInUse }.map { $0.name + "\n" }.joined()
        _ = context.out(names)
        return 0
    }
}
