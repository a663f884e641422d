// Every failure keyctl reports is a KeyCtlError: the spec's code, its exit status,
// a one-line message (what went wrong) and a hint (what to do). Nothing below the
// command layer prints or exits; it throws one of these.

/// The error and result codes keyctl reports, with their exit statuses.
public enum ErrorCode: String, CaseIterable, Sendable {
    case invalidAPIKey = "INVALID_API_KEY"
    case missingAPIKey = "MISSING_API_KEY"
    case expiredAPIKey = "EXPIRED_API_KEY"
    case revokedAPIKey = "REVOKED_API_KEY"
    case forbidden = "FORBIDDEN"
    case keyLimitReached = "KEY_LIMIT_REACHED"
    case lastKey = "LAST_KEY"
    case nameTaken = "NAME_TAKEN"
    case keystoreExists = "KEYSTORE_EXISTS"
    /// `rotate` or `update` of a key that is revoked or already retiring.
    /// A rule refusal, so it shares exit status 5 with the others.
    case keyRevoked = "KEY_REVOKED"
    case notFound = "NOT_FOUND"
    case usage = "USAGE"
    case keystoreCorrupt = "KEYSTORE_CORRUPT"
    case logCorrupt = "LOG_CORRUPT"
    case keystoreNotFound = "KEYSTORE_NOT_FOUND"
    case ioError = "IO_ERROR"
    case keystoreBusy = "KEYSTORE_BUSY"
    case permissionDenied = "PERMISSION_DENIED"

    public var exitStatus: Int32 {
        switch self {
        case .invalidAPIKey, .missingAPIKey: return 1
        case .expiredAPIKey: return 2
        case .revokedAPIKey: return 3
        case .forbidden: return 4
        case .keyLimitReached, .lastKey, .nameTaken, .keystoreExists, .keyRevoked: return 5
        case .notFound: return 6
        case .usage: return 64
        case .keystoreCorrupt, .logCorrupt: return 65
        case .keystoreNotFound: return 66
        case .ioError: return 74
        case .keystoreBusy: return 75
        case .permissionDenied: return 77
        }
    }

    /// One line for `--help` and the man page: when this code is reported.
    public var meaning: String {
        switch self {
        case .invalidAPIKey: return "verify: the key is unknown, malformed or has a bad checksum"
        case .missingAPIKey: return "verify: no key was given"
        case .expiredAPIKey: return "verify: the key has expired"
        case .revokedAPIKey: return "verify: the key was revoked, or its rotation grace ended"
        case .forbidden: return "verify --require: the key is valid but lacks that permission"
        case .keyLimitReached:
            return "create: the keystore already holds its maximum of keys that are not revoked; config --max-keys: below the keys in use"
        case .lastKey: return "revoke: the keystore would be left with no key that is not revoked"
        case .nameTaken: return "create, update: a key that is not revoked or retiring already has that name"
        case .keystoreExists: return "init: there is a keystore at that path already"
        case .keyRevoked: return "rotate, update: the key is revoked or already retiring"
        case .notFound: return "no key with that id or name"
        case .usage: return "bad command line"
        case .keystoreCorrupt: return "the keystore is not valid keyctl JSON"
        case .logCorrupt: return "the audit log does not verify against the keystore; writes are refused until it does"
        case .keystoreNotFound: return "there is no keystore at that path"
        case .ioError: return "reading or writing failed"
        case .keystoreBusy: return "the keystore lock was not had within KEYCTL_LOCK_TIMEOUT seconds"
        case .permissionDenied: return "the keystore is unsafe (writable by others, a link, another owner) or inaccessible"
        }
    }
}

public struct KeyCtlError: Error, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    /// What went wrong, lowercase, no trailing period.
    public var message: String
    /// What to do about it; may be empty.
    public var hint: String

    public init(_ code: ErrorCode, _ message: String, hint: String = "") {
        self.code = code
        self.message = message
        self.hint = hint
    }

    /// The one line a person reads: `keyctl: <message>; <hint>` (no secret ever goes in either).
    public var description: String {
        "keyctl: " + text
    }

    /// Message and hint in one line, as a person may see it: anything shaped like a key
    /// reduced to its hint, control and invisible characters escaped (Redaction.shown).
    public var text: String {
        Redaction.shown(hint.isEmpty ? message : "\(message); \(hint)")
    }

    /// Standard output could not take the command's data, so the change was not made.
    static let outputFailed = KeyCtlError(
        .ioError, "could not write to standard output, so the keystore was not changed",
        hint: "run the command again with its output going somewhere writable")

    /// A bad command line: the message names the offending word; the hint points to
    /// the help, after the nearest valid word when there is one
    /// (`unknown command 'lsit'; did you mean 'list'? see 'keyctl --help'`).
    public static func usage(_ message: String, command: String? = nil, guess: String? = nil) -> KeyCtlError {
        let help = command.map { ShellQuoting.command($0, "--help") } ?? ShellQuoting.command("--help")
        let meant = guess.map { "did you mean '\($0)'? " } ?? ""
        return KeyCtlError(.usage, message, hint: "\(meant)see '\(help)'")
    }
}
