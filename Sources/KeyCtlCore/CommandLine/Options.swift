// The typed-options mechanism behind CommandTable (gh's options-struct pattern).
//
// Each command has a struct of its options and arguments (`RotateOptions`). The
// table lists, for each property, an `Option` or `Argument` made from the
// property's key path and a `ValueType` that turns a word into the property's
// type. The parser only matches words to table entries; decoding fills the
// struct and hands it to the command, which reads `options.grace`: a misspelt
// property does not compile, and a property without a table entry is never set.
//
// The table is also erased into plain descriptions (`OptionSpec`, `ArgumentSpec`,
// `UsageForm`) for `--help`, the completion scripts, suggestions and the man-page
// drift test.

/// A command's options and arguments, as the command receives them. Every
/// property has a default, so `init()` is the command line with nothing given.
public protocol CommandOptions: Sendable {
    init()
}

/// A word that is not a valid value; `message` names the word and the option,
/// `guess` is the valid value nearest to it.
struct BadValue: Error {
    var message: String
    var guess: String?

    init(message: String, guess: String? = nil) {
        self.message = message
        self.guess = guess
    }

    func error(command: CommandName?) -> KeyCtlError {
        .usage(message, command: command?.rawValue, guess: guess)
    }
}

/// How a word on the command line becomes a `Value`: its metavariable, the words
/// it accepts when they are a fixed set, and the decoding.
public struct ValueType<Value>: Sendable {
    public var metavar: String
    /// The accepted words when they are a fixed set (from the enum), else empty.
    public var choices: [String]
    /// `decode(word, label)` where label is `--grace` or `SHELL`, for the message.
    let decode: @Sendable (String, String) throws -> Value

    init(metavar: String, choices: [String] = [], decode: @escaping @Sendable (String, String) throws -> Value) {
        self.metavar = metavar
        self.choices = choices
        self.decode = decode
    }
}

/// An enum whose raw values are the words a user types (environments, formats, …).
public typealias Choice = CaseIterable & RawRepresentable<String> & Sendable

extension ValueType where Value == String {
    /// Any word, as typed.
    static func string(_ metavar: String) -> ValueType {
        ValueType(metavar: metavar) { word, _ in word }
    }
}

extension ValueType where Value == Int64 {
    /// A DURATION in seconds, from `minimum` to `maximum`.
    static func duration(minimum: Int64 = 1, maximum: Int64 = DurationParser.maximum) -> ValueType {
        ValueType(metavar: "DURATION") { word, label in
            let seconds: Int64
            switch DurationParser.read(word) {
            case .seconds(let s): seconds = s
            case .tooLarge: throw BadValue(message: "\(label) can be at most \(DurationParser.format(maximum)), not '\(word)'")
            case .invalid:
                throw BadValue(message: "invalid duration '\(word)' for \(label) (use whole numbers with s, m, h, d, w: 90d, 1d12h, 30m)")
            }
            guard seconds >= minimum else { throw BadValue(message: "\(label) must be at least \(DurationParser.format(minimum)), not '\(word)'") }
            guard seconds <= maximum else { throw BadValue(message: "\(label) can be at most \(DurationParser.format(maximum)), not '\(word)'") }
            return seconds
        }
    }

}

extension ValueType where Value == Timestamp {
    /// A TIME in RFC 3339.
    static var time: ValueType {
        ValueType(metavar: "TIME") { word, label in
            guard let t = RFC3339.parse(Array(word.utf8)) else {
                throw BadValue(message: "invalid time '\(word)' for \(label) (RFC 3339, e.g. 2027-01-01T00:00:00Z)")
            }
            return t
        }
    }
}

extension ValueType where Value == Int {
    /// A whole number in `range`.
    static func integer(_ metavar: String, in range: ClosedRange<Int>) -> ValueType {
        ValueType(metavar: metavar) { word, label in
            guard let n = Int(word), range.contains(n) else {
                throw BadValue(
                    message: "invalid value '\(word)' for \(label) (a whole number from \(range.lowerBound) to \(range.upperBound))")
            }
            return n
        }
    }
}

extension ValueType where Value: Choice {
    /// One of the enum's raw values; the choices come from the enum itself.
    static func choice(_ metavar: String, _ type: Value.Type = Value.self) -> ValueType {
        let choices = Value.allCases.map { $0.rawValue }
        return ValueType(metavar: metavar, choices: choices) { word, label in
            guard let value = Value(rawValue: word) else { throw invalidChoice(word, label, choices) }
            return value
        }
    }
}

/// "invalid value 'tset' for --env (expected live, test)" with 'test' as the guess;
/// for an argument, "unknown shell 'bsh' (expected bash, zsh, fish)".
func invalidChoice(_ word: String, _ label: String, _ choices: [String]) -> BadValue {
    let subject = label.hasPrefix("-") ? "invalid value '\(word)' for \(label)" : "unknown \(label.lowercased()) '\(word)'"
    return BadValue(
        message: "\(subject) (expected \(choices.joined(separator: ", ")))",
        guess: Suggestions.closest(to: word, in: choices))
}

/// One option in the table, bound to a property of `Options`.
///
/// The key path is taken as an autoclosure and made only when it is used: when the
/// option is given (to store its value) or when help, completion or the man page
/// match a usage form to it. Making one instantiates the key path and its generic
/// types at run time, which cost more than the rest of keyctl's start-up; a command
/// line that gives no option of the command makes none (StartupTests).
public struct Option<Options>: Sendable {
    public let spec: OptionSpec
    let keyPath: @Sendable () -> PartialKeyPath<Options>
    let store: @Sendable (inout Options, String, String) throws -> Void

    /// A flag: `--dry-run` sets the property to true.
    public static func flag(
        _ name: String, short: Character? = nil, _ keyPath: @autoclosure @escaping @Sendable () -> WritableKeyPath<Options, Bool>,
        help: String
    ) -> Option {
        Option(spec: OptionSpec(name, short: short, help: help), keyPath: keyPath) { options, _, _ in
            options[keyPath: keyPath()] = true
        }
    }

    /// An option with a value; given twice, the last one counts (each must be valid).
    static func value<Value>(
        _ name: String, short: Character? = nil, _ keyPath: @autoclosure @escaping @Sendable () -> WritableKeyPath<Options, Value?>,
        _ type: ValueType<Value>, metavar: String? = nil, help: String
    ) -> Option {
        let spec = OptionSpec(name, short: short, value: metavar ?? type.metavar, values: type.choices, help: help)
        return Option(spec: spec, keyPath: keyPath) { options, word, label in
            options[keyPath: keyPath()] = try type.decode(word, label)
        }
    }

    /// A comma-separated list of enum values; repeated options add up, duplicates drop.
    static func list<Element: Choice & Equatable>(
        _ name: String, _ keyPath: @autoclosure @escaping @Sendable () -> WritableKeyPath<Options, [Element]?>, metavar: String = "LIST",
        help: String
    ) -> Option {
        let choices = Element.allCases.map { $0.rawValue }
        let spec = OptionSpec(name, value: metavar, values: choices, isList: true, help: help)
        return Option(spec: spec, keyPath: keyPath) { options, word, label in
            let path = keyPath()
            var list = options[keyPath: path] ?? []
            for part in word.split(separator: ",", omittingEmptySubsequences: false) {
                let item = String(part).trimmingSpaces()
                guard let element = Element(rawValue: item) else {
                    throw invalidChoice(item.isEmpty ? word : item, label, choices)
                }
                if !list.contains(element) { list.append(element) }
            }
            options[keyPath: path] = list
        }
    }
}

/// One positional argument in the table, bound to a property of `Options` (its key
/// path made only when used, as for `Option`).
public struct Argument<Options>: Sendable {
    public let spec: ArgumentSpec
    let keyPath: @Sendable () -> PartialKeyPath<Options>
    let store: @Sendable (inout Options, String) throws -> Void

    /// A required argument (the parser checks it is there, so the default is never seen).
    static func required<Value>(
        _ name: String, _ kind: ArgumentKind, _ keyPath: @autoclosure @escaping @Sendable () -> WritableKeyPath<Options, Value>,
        _ type: ValueType<Value>, help: String
    ) -> Argument {
        Argument(spec: ArgumentSpec(name, kind, values: type.choices, help: help), keyPath: keyPath) { options, word in
            options[keyPath: keyPath()] = try type.decode(word, name)
        }
    }

    static func optional<Value>(
        _ name: String, _ kind: ArgumentKind, _ keyPath: @autoclosure @escaping @Sendable () -> WritableKeyPath<Options, Value?>,
        _ type: ValueType<Value>, help: String
    ) -> Argument {
        Argument(spec: ArgumentSpec(name, kind, optional: true, values: type.choices, help: help), keyPath: keyPath) { options, word in
            options[keyPath: keyPath()] = try type.decode(word, name)
        }
    }

    /// One or more: every remaining argument, in order.
    static func repeated<Value>(
        _ name: String, _ kind: ArgumentKind, _ keyPath: @autoclosure @escaping @Sendable () -> WritableKeyPath<Options, [Value]>,
        _ type: ValueType<Value>, help: String
    ) -> Argument {
        Argument(spec: ArgumentSpec(name, kind, repeated: true, values: type.choices, help: help), keyPath: keyPath) { options, word in
            options[keyPath: keyPath()].append(try type.decode(word, name))
        }
    }
}

/// One element of a usage line, naming options and arguments by key path.
public enum Usage<Options> {
    /// An argument, required or optional as the table says.
    case argument(PartialKeyPath<Options>)
    /// `[--opt VALUE]`.
    case option(PartialKeyPath<Options>)
    /// `--opt VALUE`: this form needs it.
    case required(PartialKeyPath<Options>)
    /// `[--a X | --b Y]`: at most one of them.
    case either([PartialKeyPath<Options>])
}

extension CommandSpec {
    /// A command's table entry. `forms` are its usage lines; without them, one line:
    /// the arguments, then every option in brackets. The forms name properties by key
    /// path, so they are made (and matched to the table) only when help, completion or
    /// the man page read them.
    static func make<Options: CommandOptions>(
        _ name: CommandName, _ type: Options.Type = Options.self, summary: String, discussion: String,
        arguments: [Argument<Options>] = [], options: [Option<Options>] = [],
        forms: @autoclosure @escaping @Sendable () -> [[Usage<Options>]] = [],
        run: @escaping @Sendable (Options, Invocation) throws -> Int32
    ) -> CommandSpec {
        @Sendable func erasedForms() -> [UsageForm] {
            func item(_ path: PartialKeyPath<Options>, optional: Bool?) -> UsageItem {
                if let a = arguments.first(where: { $0.keyPath() == path }) {
                    return UsageItem([.argument(a.spec)], optional: optional ?? a.spec.isOptional)
                }
                guard let o = options.first(where: { $0.keyPath() == path }) else {
                    preconditionFailure("\(name.rawValue): a usage form names a property the table does not list")
                }
                return UsageItem([.option(o.spec)], optional: optional ?? true)
            }
            let given = forms()
            let usage = given.isEmpty ? [arguments.map { Usage.argument($0.keyPath()) } + options.map { .option($0.keyPath()) }] : given
            return usage.map { form in
                UsageForm(
                    items: form.map { element -> UsageItem in
                        switch element {
                        case .argument(let path): return item(path, optional: nil)
                        case .option(let path): return item(path, optional: true)
                        case .required(let path): return item(path, optional: false)
                        case .either(let paths): return UsageItem(paths.flatMap { item($0, optional: true).alternatives }, optional: true)
                        }
                    })
            }
        }
        @Sendable func decode(_ parsed: ParsedArguments) throws -> Options {
            var result = Options()
            for given in parsed.given {
                do {
                    try options[given.option].store(&result, given.value, options[given.option].spec.flag)
                } catch let bad as BadValue {
                    throw bad.error(command: name)
                }
            }
            var slot = 0
            for word in parsed.positionals {
                guard slot < arguments.count else { break }
                do {
                    try arguments[slot].store(&result, word)
                } catch let bad as BadValue {
                    throw bad.error(command: name)
                }
                if !arguments[slot].spec.isRepeated { slot += 1 }
            }
            return result
        }
        return CommandSpec(
            name: name, summary: summary, discussion: discussion, arguments: arguments.map { $0.spec },
            options: options.map { $0.spec }, makeForms: erasedForms,
            decode: { try decode($0) },
            execute: { parsed, invocation in try run(try decode(parsed), invocation) })
    }
}
