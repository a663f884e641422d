enum HelpCommand {
    static func run(_ inv: Invocation) throws -> Int32 {
        guard let name = inv.arguments.positionals.first else {
            return inv.context.out(Help.text(for: nil)) ? 0 : ErrorCode.ioError.exitStatus
        }
        guard let command = CommandTable.command(named: name) else {
            throw KeyCtlError.usage("unknown command '\(name)'")
        }
        return inv.context.out(Help.text(for: command)) ? 0 : ErrorCode.ioError.exitStatus
    }
}
