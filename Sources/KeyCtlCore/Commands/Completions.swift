enum CompletionsCommand {
    static func run(_ inv: Invocation) throws -> Int32 {
        let name = inv.arguments.positionals[0]
        guard let shell = Shell(rawValue: name) else {
            throw inv.usage("unknown shell '\(name)' (expected bash, zsh or fish)")
        }
        try inv.output(Completions.script(for: shell))
        return 0
    }
}
