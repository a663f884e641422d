// The one table of a key record's fields. Everything that reads or writes a record
// goes through it: the keystore encoder (KeystoreCodec.write), the general reader
// (KeystoreCodec.Decoder.record), the fast scanner (CanonicalScanner), the --json
// output (Invocation.writeRecord), `show`, and what `rotate` carries over. The man
// page's record section is checked against it (RecordSchemaTests).
//
// Adding an optional text field is one row here, one stored property in KeyRecord,
// and its documentation: `description` was added that way.

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

/// One column of a key record, in the order the keystore stores it and the output
/// prints it. `status` is derived from the stored fields and never stored.
public enum RecordField: Int, CaseIterable, Sendable {
    case id, name, description, digest, hint, environment, permissions, status
    case createdAt, expiresAt, revokedAt, lastUsedAt, rotatedFrom, rotatedTo

    // swift-format-ignore
    /// The table. Columns: JSON key, kind of value (and its rule), null allowed, first
    /// keystore format that stores it, printed by --json, printed by `show` (and what
    /// it prints for null), copied by `rotate` to the new key. Where KeyRecord keeps
    /// the value is the next switch, `type`.
    var spec: FieldSpec {
        switch self {
        case .id:           FieldSpec(self, "id",           .id,                       nullable: false, json: true,  show: .shown)
        case .name:         FieldSpec(self, "name",         .text(.name),              nullable: false, json: true,  show: .shown, rotate: .carried)
        case .description:  FieldSpec(self, "description",  .optionalText(.description), nullable: true, since: 2, json: true, show: .shown(none: "-"),
                                      rotate: .carried)  // mutation-point: rotate-keeps-description
        case .digest:       FieldSpec(self, "digest",       .digest,                   nullable: false, json: false, show: .hidden)
        case .hint:         FieldSpec(self, "hint",         .hint,                     nullable: false, json: true,  show: .shown)
        case .environment:  FieldSpec(self, "environment",  .environment,              nullable: false, json: true,  show: .shown, rotate: .carried)
        case .permissions:  FieldSpec(self, "permissions",  .permissions,              nullable: false, json: true,  show: .shown, rotate: .carried)
        case .status:       FieldSpec(self, "status",       .status,                   nullable: false, json: true,  show: .shown)
        case .createdAt:    FieldSpec(self, "created_at",   .time,                     nullable: false, json: true,  show: .shown)
        case .expiresAt:    FieldSpec(self, "expires_at",   .optionalTime,             nullable: true,  json: true,  show: .shown(none: "never"))
        case .revokedAt:    FieldSpec(self, "revoked_at",   .optionalTime,             nullable: true,  json: true,  show: .shown(none: "-"))
        case .lastUsedAt:   FieldSpec(self, "last_used_at", .optionalTime,             nullable: true,  json: true,  show: .shown(none: "never"))
        case .rotatedFrom:  FieldSpec(self, "rotated_from", .link,                     nullable: true,  json: true,  show: .shown(none: "-"))
        case .rotatedTo:    FieldSpec(self, "rotated_to",   .link,                     nullable: true,  json: true,  show: .shown(none: "-"))
        }
    }

    // swift-format-ignore
    /// Where KeyRecord keeps each field: the kind of `spec` with the value's key path
    /// (RecordSchemaTests holds the two to the same kind). Only what reads any field
    /// alike uses it (`show`, rotate's carry-over): a key path is made at run time,
    /// and making the table's cost more than the rest of a settled `verify`, so the
    /// readers, the encoder and --json go by `spec` and switches over the field.
    var type: FieldType {
        switch self {
        case .id:           .id(\.id)
        case .name:         .text(\.name, .name)
        case .description:  .optionalText(\.description, .description)
        case .digest:       .digest(\.digest)
        case .hint:         .hint(\.hint)
        case .environment:  .environment(\.environment)
        case .permissions:  .permissions(\.permissions)
        case .status:       .status
        case .createdAt:    .time(\.createdAt)
        case .expiresAt:    .optionalTime(\.expiresAt)
        case .revokedAt:    .optionalTime(\.revokedAt)
        case .lastUsedAt:   .optionalTime(\.lastUsedAt)
        case .rotatedFrom:  .link(\.rotatedFrom)
        case .rotatedTo:    .link(\.rotatedTo)
        }
    }
}

/// How a text field's value is checked.
public enum TextRule: Sendable {
    /// 1-100 characters (Names).
    case name
    /// 0-500 characters, the same characters as a name (Descriptions).
    case description

    /// Longest value in bytes the fast scanner takes (it takes printable ASCII and
    /// U+2026 only, so a byte count within this is a character count within the rule).
    var scannerMaxBytes: Int {
        switch self {
        case .name: Names.maxLength
        case .description: Descriptions.maxLength
        }
    }

    var allowsEmpty: Bool { self == .description }

    /// Why a stored value is unacceptable, or nil. The reader's check: lengths and
    /// control characters, the rules a file must keep to be read at all.
    func storedProblem(_ text: String) -> String? {
        switch self {
        case .name: Names.storedProblem(with: text)
        case .description: Names.storedProblem(with: text, field: "description", maxLength: Descriptions.maxLength, allowEmpty: true)
        }
    }
}

/// The kind of a field's value, without where KeyRecord keeps it.
public enum FieldKind: Sendable, Equatable {
    case id
    case text(TextRule)
    case optionalText(TextRule)
    case digest
    case hint
    case environment
    case permissions
    case time
    case optionalTime
    /// A rotation link: a key id or null.
    case link
    /// Derived from the stored fields at a moment (KeyRecord.status(at:)).
    case status
}

/// The type of a field and where KeyRecord keeps it.
public enum FieldType: @unchecked Sendable {
    case id(WritableKeyPath<KeyRecord, String>)
    case text(WritableKeyPath<KeyRecord, String>, TextRule)
    case optionalText(WritableKeyPath<KeyRecord, String?>, TextRule)
    case digest(WritableKeyPath<KeyRecord, String>)
    case hint(WritableKeyPath<KeyRecord, String>)
    case environment(WritableKeyPath<KeyRecord, KeyEnvironment>)
    case permissions(WritableKeyPath<KeyRecord, Permissions>)
    case time(WritableKeyPath<KeyRecord, Timestamp>)
    case optionalTime(WritableKeyPath<KeyRecord, Timestamp?>)
    /// A rotation link: a key id or null.
    case link(WritableKeyPath<KeyRecord, String?>)
    /// Derived from the stored fields at a moment (KeyRecord.status(at:)).
    case status

    /// The kind, without the key path.
    var kind: FieldKind {
        switch self {
        case .id: .id
        case .text(_, let rule): .text(rule)
        case .optionalText(_, let rule): .optionalText(rule)
        case .digest: .digest
        case .hint: .hint
        case .environment: .environment
        case .permissions: .permissions
        case .time: .time
        case .optionalTime: .optionalTime
        case .link: .link
        case .status: .status
        }
    }
}

public enum ShowStyle: Sendable, Equatable {
    case hidden
    /// Printed; `none` stands for null.
    case shown(none: String)
    static let shown = ShowStyle.shown(none: "-")
}

public enum RotateRule: Sendable, Equatable {
    /// The new key gets its own value (a new id, digest, times, links).
    case fresh
    /// The new key gets the old key's value.
    case carried
}

public struct FieldSpec: Sendable {
    public let field: RecordField
    public let key: StaticString
    public var name: String { key.description }
    public let kind: FieldKind
    /// Where KeyRecord keeps it (made on demand: see RecordField.type).
    public var type: FieldType { field.type }
    public let nullable: Bool
    /// The first keystore format version whose records hold it.
    public let since: Int
    public let json: Bool
    public let show: ShowStyle
    public let rotate: RotateRule
    public var stored: Bool { kind != .status }

    init(
        _ field: RecordField, _ key: StaticString, _ kind: FieldKind, nullable: Bool, since: Int = 1, json: Bool, show: ShowStyle,
        rotate: RotateRule = .fresh
    ) {
        self.field = field
        self.key = key
        self.kind = kind
        self.nullable = nullable
        self.since = since
        self.json = json
        self.show = show
        self.rotate = rotate
    }
}

public enum RecordSchema {
    /// Every field, in order.
    public static let fields: [FieldSpec] = RecordField.allCases.map(\.spec)
    /// The fields a keystore stores, in the order it stores them.
    public static let stored: [RecordField] = RecordField.allCases.filter { $0.spec.stored }
    /// Where the reader keeps the fields it checks across records.
    static let idSlot = stored.firstIndex(of: .id)!
    static let nameSlot = stored.firstIndex(of: .name)!
    static let digestSlot = stored.firstIndex(of: .digest)!
    static let revokedAtSlot = stored.firstIndex(of: .revokedAt)!

    /// How the readers take each stored field, in order (see FieldStep).
    static let steps: ContiguousArray<FieldStep> = ContiguousArray(stored.enumerated().map { i, field in FieldStep(field, first: i == 0) })

    /// The stored field with this JSON key, as a position in `stored`.
    static func storedSlot(key: UnsafeBufferPointer<UInt8>) -> Int? {
        for (i, field) in stored.enumerated() {
            let name = field.spec.key
            if name.utf8CodeUnitCount == key.count && memcmp(name.utf8Start, key.baseAddress!, key.count) == 0 { return i }
        }
        return nil
    }

    /// Copies every field `rotate` carries over from `old` to `new`.
    public static func carryOver(from old: KeyRecord, to new: inout KeyRecord) {
        for spec in fields where spec.rotate == .carried {
            switch spec.type {
            case .id(let path), .text(let path, _), .digest(let path), .hint(let path): new[keyPath: path] = old[keyPath: path]
            case .optionalText(let path, _), .link(let path): new[keyPath: path] = old[keyPath: path]
            case .environment(let path): new[keyPath: path] = old[keyPath: path]
            case .permissions(let path): new[keyPath: path] = old[keyPath: path]
            case .time(let path): new[keyPath: path] = old[keyPath: path]
            case .optionalTime(let path): new[keyPath: path] = old[keyPath: path]
            case .status: break
            }
        }
    }

    /// A record's fields as `show` prints them: (JSON key, text).
    static func showLines(_ r: KeyRecord, now: Timestamp) -> [(String, String)] {
        fields.compactMap { spec in
            guard case .shown(let none) = spec.show else { return nil }
            let text: String?
            switch spec.type {
            case .id(let path), .digest(let path), .hint(let path): text = r[keyPath: path]
            // Names and descriptions came from outside: escaped and redacted (Redaction.shown).
            case .text(let path, _): text = Redaction.shown(r[keyPath: path])
            case .optionalText(let path, _): text = r[keyPath: path].map(Redaction.shown)
            case .link(let path): text = r[keyPath: path]
            case .environment(let path): text = r[keyPath: path].rawValue
            case .permissions(let path): text = r[keyPath: path].names.joined(separator: ",")
            case .time(let path): text = RFC3339.format(r[keyPath: path])
            case .optionalTime(let path): text = r[keyPath: path].map(RFC3339.format)
            case .status: text = r.status(at: now).rawValue
            }
            return (spec.name, text ?? none)
        }
    }

    /// Writes a record's fields as JSON members: the stored ones for the keystore
    /// (`now` nil), or the --json ones for output (`now` for the status).
    /// A keystore of format `version` holds only the fields that version has.
    /// The table decides which fields and in what order; the value of each is read
    /// without key paths (they cost most of a streamed `list`). ListStreamTests
    /// holds this to the key-path reading of the table.
    static func writeMembers(_ r: KeyRecord, to w: inout JSONWriter, now: Timestamp?, version: Int = Keystore.currentVersion) {
        var first = true
        for (field, key, since) in now == nil ? storedMembers : jsonMembers where since <= version {
            w.key(key, first: first)
            first = false
            switch field {
            case .id: w.string(r.id)
            case .name: w.string(r.name)
            case .description: w.string(r.description)
            case .digest: w.string(r.digest)
            case .hint: w.string(r.hint)
            case .environment: w.string(r.environment.rawValue)
            case .permissions: w.strings(r.permissions.names)
            case .status: w.string(r.status(at: now ?? 0).rawValue)
            case .createdAt: w.time(r.createdAt)
            case .expiresAt: w.time(r.expiresAt)
            case .revokedAt: w.time(r.revokedAt)
            case .lastUsedAt: w.time(r.lastUsedAt)
            case .rotatedFrom: w.string(r.rotatedFrom)
            case .rotatedTo: w.string(r.rotatedTo)
            }
        }
    }

    /// The members writeMembers writes, from the table: (field, JSON key, first format that has it).
    static let storedMembers: [(RecordField, StaticString, Int)] = stored.map { ($0, $0.spec.key, $0.spec.since) }
    static let jsonMembers: [(RecordField, StaticString, Int)] = RecordField.allCases.filter { $0.spec.json }.map { ($0, $0.spec.key, 1) }
}

/// What kind of value a stored field holds, for the readers' dispatch.
enum ValueKind {
    case id, text, digest, hint, environment, permissions, time, link
}

/// One stored field as the readers see it: everything on the hot path, no key paths.
struct FieldStep: @unchecked Sendable {
    let field: RecordField
    /// `{"id":` for the first field, `,"name":` for the others: what the fast scanner
    /// expects before the value. Made once and never freed.
    let literal: UnsafeBufferPointer<UInt8>
    let kind: ValueKind
    let nullable: Bool
    let since: Int
    /// Text only: the rule, and the byte lengths within which plain ASCII needs no
    /// further check.
    let rule: TextRule?
    let minBytes: Int
    let maxBytes: Int

    init(_ field: RecordField, first: Bool) {
        let spec = field.spec
        self.field = field
        let bytes = Array((first ? "{\"" : ",\"").utf8) + Array(spec.name.utf8) + Array("\":".utf8)
        let storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
        _ = storage.initialize(from: bytes)
        literal = UnsafeBufferPointer(storage)
        nullable = spec.nullable
        since = spec.since
        var rule: TextRule?
        switch spec.kind {
        case .id: kind = .id
        case .text(let r), .optionalText(let r):
            kind = .text
            rule = r
        case .digest: kind = .digest
        case .hint: kind = .hint
        case .environment: kind = .environment
        case .permissions: kind = .permissions
        case .time, .optionalTime: kind = .time
        case .link: kind = .link
        case .status: preconditionFailure("status is not stored")
        }
        self.rule = rule
        minBytes = rule.map { $0.allowsEmpty ? 0 : 1 } ?? 0
        maxBytes = rule?.scannerMaxBytes ?? 64
    }
}

public enum Descriptions {
    public static let maxLength = 500

    /// Nil when `text` is acceptable as a new description (keyctl(1) Rules: 0-500 characters,
    /// the same character rules as names), else why not.
    public static func problem(with text: String) -> String? {
        Names.problem(with: text, field: "description", maxLength: maxLength, allowEmpty: true)
    }
}
