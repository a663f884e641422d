// What keeps keyctl's start-up cheap, held to the slow, obvious answer: the command
// table makes no key path until one is used (Options.swift), every option and
// argument of every command still sets exactly one property, the global options'
// switch sets theirs, the record table's key-path-free kinds agree with its key
// paths, argv is read as CommandLine.arguments reads it, and the usage file's
// reader sized by what fstat saw still reads a file that grew since.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct StartupTests {
    /// The properties whose value differs between two options structs, by name.
    static func changed(_ a: Any, _ b: Any) -> [String] {
        let before = Mirror(reflecting: a).children
        let after = Mirror(reflecting: b).children
        return zip(before, after).compactMap { x, y in
            String(describing: x.value) == String(describing: y.value) ? nil : x.label ?? "?"
        }
    }

    /// A valid word for an option's value or an argument, from what the table says of it.
    static func sample(values: [String], metavar: String?) -> String {
        if let last = values.last { return last }
        switch metavar {
        case "DURATION": return "1d"
        case "TIME": return "2027-01-01T00:00:00Z"
        case "N": return "5"
        default: return "zz"
        }
    }

    /// The command line with only the required arguments.
    static func required(_ spec: CommandSpec) -> [String] {
        [spec.name.rawValue] + spec.arguments.filter { !$0.isOptional }.map { sample(values: $0.values, metavar: $0.name) }
    }

    @Test(arguments: CommandName.allCases)
    func everyOptionSetsOneProperty(_ name: CommandName) throws {
        let spec = CommandTable.spec(name)
        let base = try spec.decode(try ArgumentParser.parse(Self.required(spec)))
        for option in spec.options {
            var argv = Self.required(spec) + [option.flag]
            if option.takesValue { argv.append(Self.sample(values: option.values, metavar: option.valueName)) }
            let given = try spec.decode(try ArgumentParser.parse(argv))
            #expect(Self.changed(base, given).count == 1, "\(argv): \(Self.changed(base, given))")
        }
    }

    @Test(arguments: CommandName.allCases)
    func everyArgumentSetsOneProperty(_ name: CommandName) throws {
        let spec = CommandTable.spec(name)
        var argv = [name.rawValue]
        var previous = try spec.decode(try ArgumentParser.parse(Self.required(spec)))
        var seen: [String] = []
        for argument in spec.arguments {
            argv.append(Self.sample(values: argument.values, metavar: argument.name))
            let parsed = try ArgumentParser.parse(argv)
            try ArgumentParser.checkArity(parsed, spec)
            let given = try spec.decode(parsed)
            // A required argument was in the baseline already: it sets nothing new.
            let changed = Self.changed(previous, given)
            #expect(changed.count == (argument.isOptional ? 1 : 0), "\(argv): \(changed)")
            seen += changed
            previous = given
        }
        #expect(Set(seen).count == seen.count, "two arguments set one property: \(seen)")
    }

    @Test func everyGlobalOptionSetsOneProperty() throws {
        var names: [String] = []
        for option in GlobalOption.allCases {
            let spec = option.spec
            let parsed = try ArgumentParser.parse(spec.takesValue ? [spec.flag, "/k.json"] : [spec.flag])
            let changed = Self.changed(GlobalOptions(), parsed.globals)
            #expect(changed.count == 1, "\(spec.flag): \(changed)")
            names += changed
        }
        #expect(names == ["keystore", "json", "help", "version"])
    }

    struct ProbeOptions: CommandOptions {
        var flag = false
        var word: String?
        var key: String?
        init() {}
    }

    /// Counts the key paths the table makes.
    final class Probe: @unchecked Sendable {
        var made = 0
        func made<Path>(_ path: Path) -> Path {
            made += 1
            return path
        }
    }

    @Test func aTableEntryMakesNoKeyPathUntilOneIsUsed() throws {
        let probe = Probe()
        let spec = CommandSpec.make(
            .verify, ProbeOptions.self, summary: "probe", discussion: "",
            arguments: [.optional("KEY", .key, probe.made(\.key), .string("KEY"), help: "")],
            options: [
                .flag("flag", probe.made(\.flag), help: ""),
                .value("word", probe.made(\.word), .string("WORD"), help: ""),
            ],
            forms: [[.argument(probe.made(\.key)), .option(probe.made(\.word))]],
            run: { _, _ in 0 })
        #expect(probe.made == 0, "making the entry")
        var parsed = ParsedArguments()
        parsed.command = spec
        _ = try spec.decode(parsed)
        #expect(probe.made == 0, "a command line that gives nothing")
        parsed.given = [ParsedArguments.Given(option: 1, value: "w")]
        let options = try #require(try spec.decode(parsed) as? ProbeOptions)
        #expect(options.word == "w" && !options.flag && options.key == nil)
        #expect(probe.made == 1, "only the option given")
        #expect(spec.forms.map { $0.items.count } == [2])
        #expect(probe.made > 1, "the forms match their key paths")
    }

    @Test(arguments: RecordField.allCases)
    func theRecordTablesKindIsItsKeyPathsKind(_ field: RecordField) {
        #expect(field.spec.field == field)
        #expect(field.spec.kind == field.type.kind)
    }

    @Test func argvIsReadAsCommandLineArgumentsReadsIt() {
        let words: [[UInt8]] = [Array("keyctl".utf8), Array("--keystore=/k".utf8), [0x76, 0xff, 0x65], [], Array("caf\u{E9}".utf8)]
        var pointers: [UnsafeMutablePointer<CChar>?] = words.map { word in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: word.count + 1)
            for (i, byte) in word.enumerated() { p[i] = CChar(bitPattern: byte) }
            p[word.count] = 0
            return p
        }
        pointers.append(nil)
        defer { pointers.forEach { $0?.deallocate() } }
        pointers.withUnsafeMutableBufferPointer { argv in
            let expected = (1..<words.count).map { String(cString: argv[$0]!) }
            #expect(KeyCtl.arguments(Int32(words.count), argv.baseAddress!) == expected)
            #expect(expected[1] == "v\u{FFFD}e", "invalid UTF-8 is repaired")
            #expect(KeyCtl.arguments(1, argv.baseAddress!) == [])
            #expect(KeyCtl.arguments(0, argv.baseAddress!) == [])
        }
    }

    @Test func theUsageReaderReadsPastWhatItExpected() throws {
        let path = "/tmp/keyctl-startup-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        try #require(bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) } == bytes.count)
        for (offset, expected) in [(0, 0), (0, 10), (0, 100_000), (99_990, 10), (99_990, 0), (50_000, 70_000), (100_000, 0)] {
            #expect(UsageFile.readAll(fd, from: offset, expected: expected) == Array(bytes[offset...]), "from \(offset), expecting \(expected)")
        }
        #expect(UsageFile.readAll(fd, from: 0) == bytes)
    }
}
