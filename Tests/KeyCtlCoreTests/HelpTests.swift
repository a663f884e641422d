import Testing

@testable import KeyCtlCore

@Suite struct HelpTests {
    static let pages: [(String, String)] =
        [("keyctl", Help.text(for: nil))] + CommandTable.commands.map { ($0.name.rawValue, Help.text(for: $0)) }

    @Test(arguments: pages.map { $0.0 })
    func helpFitsAnEightyColumnTerminal(page: String) {
        let text = Self.pages.first { $0.0 == page }!.1
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            #expect(line.count <= Help.lineWidth, "\(page): \(line)")
        }
    }

    @Test func labelsAndHelpFormTwoColumns() {
        let rows = Help.rows([("a", "first"), ("longer-label", "second " + String(repeating: "word ", count: 30))])
        let lines = rows.split(separator: "\n").map(String.init)
        #expect(lines[0] == "  a             first")
        #expect(lines[1].hasPrefix("  longer-label  second word"))
        // Continuation lines start in the help column.
        #expect(lines.count > 2 && lines[2].hasPrefix(String(repeating: " ", count: 16) + "word"))
    }

    @Test func everyCommandAndOptionIsInTheHelp() {
        let overview = Help.text(for: nil)
        for command in CommandTable.commands {
            #expect(overview.contains("  \(command.name.rawValue)  "))
            let page = Help.text(for: command)
            for option in command.options + CommandTable.globalOptions {
                #expect(page.contains(option.flag), "\(command.name.rawValue) --help lacks \(option.flag)")
            }
        }
    }

    /// Issue 9: usage lines come from the table's forms, so each form shows every
    /// option it takes: rotate's `--expiring-within` form keeps --expires-in and --format.
    @Test func usageLinesShowEachForm() throws {
        let rotate = try #require(CommandTable.command(named: "rotate"))
        let usage = Help.usage(rotate).replacing(/\n +/, with: " ")
        #expect(
            usage == "Usage: keyctl rotate KEY [--grace DURATION] [--expires-in DURATION] [--format FORMAT]"
                + " keyctl rotate --expiring-within DURATION [--grace DURATION] [--expires-in DURATION] [--format FORMAT]")
        let create = try #require(CommandTable.command(named: "create"))
        #expect(
            Help.usage(create).replacing(/\n +/, with: " ")
                == "Usage: keyctl create NAME [--permissions LIST] [--env live|test] [--expires-in DURATION | --expires-at TIME] [--description TEXT] [--format FORMAT]"
        )
        let completions = try #require(CommandTable.command(named: "completions"))
        #expect(Help.usage(completions) == "Usage: keyctl completions bash|zsh|fish")
    }

    /// Every option and argument of a command appears in at least one of its usage lines.
    @Test func everyOptionIsInAUsageLine() {
        for command in CommandTable.commands {
            let parts = command.forms.flatMap { $0.items.flatMap(\.alternatives) }
            for option in command.options {
                #expect(parts.contains(.option(option)), "\(command.name.rawValue): \(option.flag) is in no usage line")
            }
            for argument in command.arguments {
                #expect(parts.contains(.argument(argument)), "\(command.name.rawValue): \(argument.name) is in no usage line")
            }
        }
    }
}
