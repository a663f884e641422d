// argv → ParsedArguments, driven by CommandTable. Conventions: `--opt value` and
// `--opt=value`, `--` ends the options, global options before or after the command,
// `-h`/`--help` wins over any other mistake on the line. Every usage error names
// the offending word.

public struct ParsedArguments: Equatable {
    /// One option of the command as given: its index in `command.options`, and its
    /// value ("" for a flag).
    public struct Given: Equatable, Sendable {
        public var option: Int
        public var value: String
    }

    public var command: CommandSpec?
    /// Global options are decoded as they are parsed: `--help` must win over any mistake.
    public var globals = GlobalOptions()
    /// The command's options in the order given, decoded when the command runs.
    public var given: [Given] = []
    public var positionals: [String] = []

    public var wantsHelp: Bool { globals.help }
    public var wantsVersion: Bool { globals.version }
    public var json: Bool { globals.json }

    public static func == (a: ParsedArguments, b: ParsedArguments) -> Bool {
        a.command?.name == b.command?.name && a.globals == b.globals && a.given == b.given && a.positionals == b.positionals
    }
}

public enum ArgumentParser {
    /// Parses `arguments` (without argv[0]): which words are options, their values,
    /// the command and its arguments. Values are decoded to their types later, by
    /// the command's table entry (`CommandSpec.execute`).
    public static func parse(_ arguments: [String]) throws -> ParsedArguments {
        var result = ParsedArguments()
        var firstError: KeyCtlError?
        // Not `firstError == nil`: KeyCtlError is Equatable, so that would be Optional's
        // `==`, whose tuple of two optionals is instantiated at run time (a cost at start-up).
        func fail(_ error: KeyCtlError) { if case .none = firstError { firstError = error } }

        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if optionsEnded || word == "-" || !word.hasPrefix("-") {
                if result.command == nil && !optionsEnded {
                    if let command = CommandTable.command(named: word) {
                        result.command = command
                    } else {
                        fail(Suggestions.unknownCommand(word))
                        // Keep going so a later --help is still honoured.
                        result.positionals.append(word)
                    }
                } else {
                    result.positionals.append(word)
                }
                continue
            }
            if word == "--" {
                optionsEnded = true
                continue
            }
            let commandName = result.command?.name.rawValue
            // Split "--name=value" and map "-h".
            var name: String
            var inlineValue: String?
            if word.hasPrefix("--") {
                let body = word.dropFirst(2)
                if let eq = body.firstIndex(of: "=") {
                    name = String(body[..<eq])
                    inlineValue = String(body[body.index(after: eq)...])
                } else {
                    name = String(body)
                }
            } else {
                let letters = word.dropFirst()
                guard let found = lookup(short: letters, command: result.command) else {
                    fail(Suggestions.unknownOption(word, command: result.command))
                    continue
                }
                name = found.spec(in: result.command).name
            }
            guard let found = lookup(long: name, command: result.command) else {
                fail(Suggestions.unknownOption("--" + name, command: result.command))
                continue
            }
            let spec = found.spec(in: result.command)
            var value = ""
            if spec.takesValue {
                if let inlineValue {
                    value = inlineValue
                } else if index < arguments.count {
                    value = arguments[index]
                    index += 1
                } else {
                    fail(.usage("option '--\(spec.name)' needs a value (\(spec.valueName ?? "VALUE"))", command: commandName))
                    continue
                }
            } else if case .some = inlineValue {
                fail(.usage("option '--\(spec.name)' takes no value, in '\(word)'", command: commandName))
                continue
            }
            switch found {
            case .global(let option):
                option.store(value, in: &result.globals)
            case .command(let i):
                result.given.append(ParsedArguments.Given(option: i, value: value))
            }
        }
        if result.wantsHelp || result.wantsVersion {
            return result
        }
        if let firstError { throw firstError }
        return result
    }

    /// A global option, or the command's option at an index of its table. Plain
    /// values only: an optional of anything that must be released is destroyed
    /// through metadata made at run time, a cost at start-up.
    enum Found {
        case global(GlobalOption)
        case command(Int)

        func spec(in command: CommandSpec?) -> OptionSpec {
            switch self {
            case .global(let option): return option.spec
            case .command(let i): return command!.options[i]
            }
        }
    }

    static func lookup(long name: String, command: CommandSpec?) -> Found? {
        for option in GlobalOption.allCases {
            if option.spec.name == name { return .global(option) }
        }
        guard let command, let i = command.options.firstIndex(where: { $0.name == name }) else { return nil }
        return .command(i)
    }

    static func lookup(short letters: Substring, command: CommandSpec?) -> Found? {
        guard letters.count == 1, let letter = letters.first else { return nil }
        for option in GlobalOption.allCases {
            if option.spec.short == letter { return .global(option) }
        }
        guard let command, let i = command.options.firstIndex(where: { $0.short == letter }) else { return nil }
        return .command(i)
    }

    /// Checks the positional arguments of a parsed command line against its spec.
    public static func checkArity(_ parsed: ParsedArguments, _ spec: CommandSpec) throws {
        let given = parsed.positionals
        let required = spec.arguments.filter { !$0.isOptional }.count
        let repeated = spec.arguments.contains { $0.isRepeated }
        if given.count < required {
            let missing = spec.arguments[given.count]
            throw KeyCtlError.usage("missing \(missing.name) for '\(spec.name.rawValue)'", command: spec.name.rawValue)
        }
        if !repeated && given.count > spec.arguments.count {
            throw KeyCtlError.usage("unexpected argument '\(given[spec.arguments.count])'", command: spec.name.rawValue)
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, scalars[start].properties.isWhitespace { start = scalars.index(after: start) }
        while end > start, scalars[scalars.index(before: end)].properties.isWhitespace { end = scalars.index(before: end) }
        return String(scalars[start..<end])
    }
}
