// argv → ParsedArguments, driven by CommandTable. Conventions: `--opt value` and
// `--opt=value`, `--` ends the options, global options before or after the command,
// `-h`/`--help` wins over any other mistake on the line. Every usage error names
// the offending word.

public struct ParsedArguments: Equatable {
    public var command: CommandSpec?
    /// Option name → values in the order given (a flag records "").
    public var options: [String: [String]] = [:]
    public var positionals: [String] = []
    public var wantsHelp = false
    public var wantsVersion = false

    public var json: Bool { options["json"] != nil }
    public var keystorePath: String? { options["keystore"]?.last }

    public func has(_ name: String) -> Bool { options[name] != nil }
    /// The last value given for an option (a repeated single-valued option: the last wins).
    public func value(_ name: String) -> String? { options[name]?.last }

    public static func == (a: ParsedArguments, b: ParsedArguments) -> Bool {
        a.command?.name == b.command?.name && a.options == b.options && a.positionals == b.positionals
            && a.wantsHelp == b.wantsHelp && a.wantsVersion == b.wantsVersion
    }
}

public enum ArgumentParser {
    /// Parses `arguments` (without argv[0]).
    public static func parse(_ arguments: [String]) throws -> ParsedArguments {
        var result = ParsedArguments()
        var firstError: KeyCtlError?
        func fail(_ error: KeyCtlError) { if firstError == nil { firstError = error } }

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
                        fail(.usage("unknown command '\(word)'"))
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
                guard let spec = lookup(short: letters, command: result.command) else {
                    fail(.usage("unknown option '\(word)'", command: commandName))
                    continue
                }
                name = spec.name
            }
            guard let spec = lookup(long: name, command: result.command) else {
                fail(.usage("unknown option '--\(name)'", command: commandName))
                continue
            }
            if spec.takesValue {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else if index < arguments.count {
                    value = arguments[index]
                    index += 1
                } else {
                    fail(.usage("option '--\(spec.name)' needs a value (\(spec.valueName ?? "VALUE"))", command: commandName))
                    continue
                }
                result.options[spec.name, default: []].append(value)
            } else {
                if inlineValue != nil {
                    fail(.usage("option '--\(spec.name)' takes no value, in '\(word)'", command: commandName))
                    continue
                }
                if spec.name == "help" { result.wantsHelp = true }
                if spec.name == "version" { result.wantsVersion = true }
                result.options[spec.name, default: []].append("")
            }
        }
        if result.wantsHelp || result.wantsVersion {
            return result
        }
        if let firstError { throw firstError }
        return result
    }

    static func lookup(long name: String, command: CommandSpec?) -> OptionSpec? {
        if let spec = CommandTable.globalOptions.first(where: { $0.name == name }) { return spec }
        return command?.options.first { $0.name == name }
    }

    static func lookup(short letters: Substring, command: CommandSpec?) -> OptionSpec? {
        guard letters.count == 1, let letter = letters.first else { return nil }
        if let spec = CommandTable.globalOptions.first(where: { $0.short == letter }) { return spec }
        return command?.options.first { $0.short == letter }
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

    /// Splits a comma-separated list option and checks each element against `allowed`.
    public static func list(_ raw: String, option: String, allowed: [String], command: String) throws -> [String] {
        var out: [String] = []
        for part in raw.split(separator: ",", omittingEmptySubsequences: false) {
            let item = String(part).trimmingSpaces()
            guard allowed.contains(item) else {
                let shown = item.isEmpty ? raw : item
                throw KeyCtlError.usage(
                    "invalid value '\(shown)' for --\(option) (expected \(allowed.joined(separator: ", ")))",
                    command: command)
            }
            if !out.contains(item) { out.append(item) }
        }
        return out
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
