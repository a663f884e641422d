enum CompletionsCommand {
    static func run(_ options: CompletionsOptions, _ inv: Invocation) throws -> Int32 {
        try inv.output(Completions.script(for: options.shell))
        return 0
    }
}
