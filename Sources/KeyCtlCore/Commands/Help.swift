enum HelpCommand {
    static func run(_ options: HelpOptions, _ inv: Invocation) throws -> Int32 {
        try inv.output(Help.text(for: options.command.flatMap { name in CommandTable.commands.first { $0.name == name } }))
        return 0
    }
}
