// What the keystore holds about one key. Never the key itself: only its SHA-256
// digest and a display hint.
//
// A key's status is derived, never stored: `revoked_at` in the past means revoked;
// in the future it means retiring (rotated with a grace period: it verifies until
// then). Otherwise `expires_at` in the past means expired, else active.

public enum KeyEnvironment: String, CaseIterable, Sendable {
    case live, test
}

public enum KeyStatus: String, CaseIterable, Sendable {
    case active, expired, retiring, revoked
}

/// One permission, as `--permissions` and `--require` name it.
public enum Permission: String, CaseIterable, Sendable {
    case read, write, admin, webhook
}

/// A set of permissions; `admin` implies all others.
public struct Permissions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let read = Permissions(rawValue: 1)
    public static let write = Permissions(rawValue: 2)
    public static let admin = Permissions(rawValue: 4)
    public static let webhook = Permissions(rawValue: 8)

    /// In the canonical order the keystore and the output use.
    public static let named: [(String, Permissions)] = Permission.allCases.map { ($0.rawValue, Permissions($0)) }

    public init?(name: String) {
        guard let found = Permissions.named.first(where: { $0.0 == name }) else { return nil }
        self = found.1
    }

    public init(_ list: [Permission]) {
        self = list.reduce(into: Permissions()) { set, permission in set.insert(Permissions(permission)) }
    }

    public init(_ permission: Permission) {
        switch permission {
        case .read: self = .read
        case .write: self = .write
        case .admin: self = .admin
        case .webhook: self = .webhook
        }
    }

    /// In the enum's order. Not through `named`: an array of tuples is instantiated at
    /// run time, a cost on verify's answer line.
    public var names: [String] {
        var names: [String] = []
        for permission in Permission.allCases where contains(Permissions(permission)) { names.append(permission.rawValue) }
        return names
    }

    /// Whether a key with these permissions may do what `required` asks.
    public func grants(_ required: Permissions) -> Bool {
        contains(.admin) || isSuperset(of: required)
    }
}

/// The stored fields of a key; RecordSchema says how each is stored, read, printed
/// and carried over by rotate.
public struct KeyRecord: Equatable, Sendable {
    /// A new key's id is `key_` and this many random base62 digits.
    public static let idDigits = 16

    public var id: String
    public var name: String
    public var description: String?
    /// SHA-256 of the whole key string, as 64 lowercase hex digits.
    public var digest: String
    public var hint: String
    public var environment: KeyEnvironment
    public var permissions: Permissions
    public var createdAt: Timestamp
    public var expiresAt: Timestamp?
    public var revokedAt: Timestamp?
    public var lastUsedAt: Timestamp?
    public var rotatedFrom: String?
    public var rotatedTo: String?

    public init(
        id: String, name: String, description: String? = nil, digest: String, hint: String, environment: KeyEnvironment, permissions: Permissions,
        createdAt: Timestamp, expiresAt: Timestamp? = nil, revokedAt: Timestamp? = nil, lastUsedAt: Timestamp? = nil,
        rotatedFrom: String? = nil, rotatedTo: String? = nil
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.digest = digest
        self.hint = hint
        self.environment = environment
        self.permissions = permissions
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
        self.rotatedFrom = rotatedFrom
        self.rotatedTo = rotatedTo
    }

    /// The one status rule, used by every output (notice, list, show, --json, filters,
    /// verify) and every rule (limit, names, rotate, revoke):
    ///
    ///     revoked_at set, and reached          -> revoked
    ///     revoked_at set, still in the future  -> retiring (only a rotation with --grace)
    ///     expires_at reached                   -> expired
    ///     otherwise                            -> active
    ///
    /// A grace never outlives the key: keyctl 2 stores revoked_at = min(now + grace,
    /// expires_at). A record from keyctl 1.0 may have revoked_at after expires_at;
    /// it is read the same way, as revoked from its expiry on (`revokedSince`).
    public func status(at now: Timestamp) -> KeyStatus {
        if let end = revokedSince { return end <= now ? .revoked : .retiring }
        if let expiresAt, expiresAt <= now { return .expired }
        return .active
    }

    /// Whether `rotate --expiring-within` (and `list --expiring-within`) picks this key:
    /// active or expired (`status`, its status at `now`), with an expiry no later than
    /// `window` from now.
    public func isDueForRotation(status: KeyStatus, within window: Int64, now: Timestamp) -> Bool {
        guard status == .active || status == .expired, let expiresAt else { return false }
        return expiresAt <= now + window
    }

    /// When the key stops (or stopped) verifying for good: revoked_at, or its expiry
    /// if that came first while it was retiring. Nil for a key never revoked.
    public var revokedSince: Timestamp? {
        guard let revokedAt else { return nil }
        guard let expiresAt, rotatedTo != nil else { return revokedAt }
        return min(revokedAt, expiresAt)
    }

    /// Why a revoked key no longer verifies, for a person: revoked by hand, rotated
    /// without a grace, or rotated and its grace over. `successorCreatedAt` is when its
    /// replacement was made (the rotation time), nil when it is not known.
    ///
    /// A rotation without a grace (or of a key that had already expired) stores
    /// revoked_at = the rotation time, and that is the time said, also when the key had
    /// expired before it; a grace ends at `revokedSince`.
    public func revocationReason(successorCreatedAt: Timestamp?) -> String {
        let revoked = revokedAt ?? 0
        let end = RFC3339.format(revokedSince ?? revoked)
        guard let rotatedTo else { return "revoked at \(end)" }
        guard let made = successorCreatedAt else { return "rotated to \(rotatedTo); revoked at \(end)" }
        return revoked > made ? "rotated to \(rotatedTo); its grace ended at \(end)" : "rotated to \(rotatedTo) at \(RFC3339.format(revoked))"
    }

    /// Counts toward the key limit and the last-key rule, owns its name: active or expired.
    public var isInUse: Bool { revokedAt == nil }
}

public struct Keystore: Equatable, Sendable {
    public static let currentVersion = 2
    public static let defaultPrefix = "ak"
    public static let defaultMaxKeys = 10
    public static let maxKeysRange = 1...100_000

    /// The format of the file it was read from; every write is in currentVersion.
    public var version: Int = Keystore.currentVersion
    public var prefix: String
    public var maxKeys: Int
    /// The audit log's head (AuditLog.swift): its last entry. Nil before the first entry.
    public var log: LogHead?
    /// In creation order: the newest last. A write keeps revoked records as their
    /// bytes until something reads them (KeyRecords.swift).
    public var keys: KeyRecords

    public init(prefix: String = Keystore.defaultPrefix, maxKeys: Int = Keystore.defaultMaxKeys, log: LogHead? = nil, keys: [KeyRecord] = []) {
        self.log = log
        self.prefix = prefix
        self.maxKeys = maxKeys
        self.keys = KeyRecords(keys)
    }

    /// Everything but the records is the same (`==` without comparing every record).
    func hasSameSettings(as other: Keystore) -> Bool {
        version == other.version && prefix == other.prefix && maxKeys == other.maxKeys && log == other.log
    }

    /// The older format this keystore is upgraded from when it is next written
    /// (the file stays beside it as PATH.v1), or nil when it is current.
    public var upgradedFrom: Int? { version < Keystore.currentVersion ? version : nil }

    /// Keys that count toward the limit and the last-key rule: not revoked, not retiring.
    public func inUseCount() -> Int {
        keys.inUseIndices().count
    }

    /// The key in use named `name`, if any (names are compared as Strings: canonically
    /// equivalent spellings are one name).
    public func indexInUse(named name: String) -> Int? {
        keys.inUseIndices().first { keys[$0].name == name }
    }

    /// Resolves a KEY argument: an id first (any status), then the name of a key in use.
    public func index(of reference: String) -> Int? {
        if reference.hasPrefix("key_"), let i = keys.index(ofID: reference) { return i }
        return indexInUse(named: reference)
    }
}

/// The audit log's last entry as the keystore records it: its sequence number and the
/// SHA-256 (64 lowercase hex digits) of its line.
public struct LogHead: Equatable, Sendable {
    public var seq: Int64
    public var hash: String
    /// The log file as the last writer left it (size, inode, ctime in nanoseconds).
    /// A write that finds the log so has no need to re-check its chain; see AuditLog.swift.
    public var file: LogFileIdentity?

    public init(seq: Int64, hash: String, file: LogFileIdentity? = nil) {
        self.seq = seq
        self.hash = hash
        self.file = file
    }
}

public struct LogFileIdentity: Equatable, Sendable {
    public var size: Int64
    public var inode: Int64
    public var ctime: Int64
}

public enum Names {
    public static let maxLength = 100

    /// Nil when `text` is acceptable as a new name (or, with `field` "description",
    /// `maxLength` 500 and `allowEmpty`, a description), else why not (keyctl(1) Rules):
    /// the stored rules of `storedProblem`, plus not only spaces, no invisible or
    /// direction-changing character, nothing shaped like a secret.
    public static func problem(
        with text: String, field: String = "key name", maxLength: Int = Names.maxLength, allowEmpty: Bool = false
    ) -> String? {
        if let problem = storedProblem(with: text, field: field, maxLength: maxLength, allowEmpty: allowEmpty) { return problem }
        if text.isEmpty { return nil }
        if text.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) { return "a \(field) cannot be only spaces" }
        if let invisible = text.unicodeScalars.first(where: Redaction.isInvisible) {
            let shown = Redaction.escapingInvisibles(in: String(invisible))
            return "a \(field) cannot contain invisible or direction-changing characters such as \(shown)"
        }
        // Names are stored and listed in clear; a key (or a piece of one) pasted as a name would be too.
        if Redaction.looksSecret(text) {
            return "a \(field) cannot contain something shaped like an API key "
                + "(\(Redaction.secretRunLength) or more letters and digits in a row), and it is stored in clear"
        }
        return nil
    }

    /// The rules a name (or description) read from a keystore must keep, or the keystore
    /// is KEYSTORE_CORRUPT: not empty, not too long, no control characters. Names that
    /// keyctl 1.0 accepted (only spaces, invisible characters, long runs of letters) are
    /// still read, and shown escaped and redacted (Redaction.shown).
    public static func storedProblem(
        with text: String, field: String = "key name", maxLength: Int = Names.maxLength, allowEmpty: Bool = false
    ) -> String? {
        if text.isEmpty { return allowEmpty ? nil : "a \(field) cannot be empty" }
        if text.count > maxLength { return "a \(field) has at most \(maxLength) characters (this one has \(text.count))" }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "a \(field) cannot contain control characters"
        }
        return nil
    }

    public static func isValidPrefix(_ prefix: String) -> Bool {
        (2...10).contains(prefix.utf8.count)
            && prefix.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
    }

    /// `key_` followed by 1-64 base62 digits.
    public static func isValidID<Bytes: Collection>(_ id: Bytes) -> Bool where Bytes.Element == UInt8 {
        guard id.count >= 5 && id.count <= 68 else { return false }
        var i = 0
        for c in id {
            switch i {
            case 0: if c != UInt8(ascii: "k") { return false }
            case 1: if c != UInt8(ascii: "e") { return false }
            case 2: if c != UInt8(ascii: "y") { return false }
            case 3: if c != UInt8(ascii: "_") { return false }
            default: if Base62.value(of: c) == nil { return false }
            }
            i += 1
        }
        return true
    }
}
