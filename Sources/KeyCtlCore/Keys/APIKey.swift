// The key format: PREFIX_ENV_BODY, where BODY is 32 random base62
// digits (about 190 bits from getrandom) followed by the CRC-32 of everything
// before it as 6 base62 digits. The checksum catches a typo without a lookup and
// lets scanners recognise a leaked key by its shape.

public struct APIKey: Sendable {
    public static let randomLength = 32
    public static let checksumLength = 6
    /// Fewest random digits a key may carry and still parse: 22 digits ≥ 128 bits.
    public static let minimumRandomLength = 22

    public let prefix: String
    public let environment: KeyEnvironment
    public let text: String

    /// A fresh key from `randomBytes` (the system CSPRNG outside tests).
    public static func generate(prefix: String, environment: KeyEnvironment, randomBytes: (Int) -> [UInt8]) -> APIKey {
        let head = "\(prefix)_\(environment.rawValue)_" + Base62.random(count: randomLength, randomBytes: randomBytes)
        return APIKey(prefix: prefix, environment: environment, text: head + checksum(of: head))
    }

    public static func checksum(of head: String) -> String {
        Base62.encode(UInt64(CRC32.checksum(head.utf8)), width: checksumLength)
    }

    public enum ParseProblem: Error, Equatable {
        case malformed
        case badChecksum
    }

    /// Checks the shape and the checksum, without any lookup.
    public static func parse(_ text: String) -> Result<APIKey, ParseProblem> {
        let bytes = Array(text.utf8)
        switch check(bytes[...]) {
        case .failure(let problem):
            return .failure(problem)
        case .success(let shape):
            return .success(APIKey(prefix: String(decoding: bytes[..<shape.prefixEnd], as: UTF8.self), environment: shape.environment, text: text))
        }
    }

    /// `parse` on bytes, the one implementation: where the prefix ends (the index of the
    /// first `_`) and the environment, or the problem. Allocates nothing.
    public static func check(_ bytes: ArraySlice<UInt8>) -> Result<(prefixEnd: Int, environment: KeyEnvironment), ParseProblem> {
        guard let first = bytes.firstIndex(of: UInt8(ascii: "_")) else { return .failure(.malformed) }
        let prefix = bytes[..<first]
        guard (2...10).contains(prefix.count), prefix.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }) else {
            return .failure(.malformed)
        }
        let rest = bytes[(first + 1)...]
        guard let second = rest.firstIndex(of: UInt8(ascii: "_")) else { return .failure(.malformed) }
        // KeyEnvironment(rawValue:) on the bytes, without making a String of them.
        guard let environment = KeyEnvironment.allCases.first(where: { $0.rawValue.utf8.elementsEqual(rest[..<second]) }) else {
            return .failure(.malformed)
        }
        let body = bytes[(second + 1)...]
        guard body.count >= minimumRandomLength + checksumLength, body.count <= 200, body.allSatisfy(Base62.isDigit) else {
            return .failure(.malformed)
        }
        let split = bytes.endIndex - checksumLength
        let computed = bytes[..<split].withUnsafeBytes { CRC32.checksum($0) }
        guard let stated = Base62.decode(bytes[split...]), stated == UInt64(computed) else {
            return .failure(.badChecksum)
        }
        return .success((first, environment))
    }

    /// SHA-256 of the whole key string, as the keystore stores it.
    public var digest: String { Hex.encode(SHA256.hash(text.utf8)) }

    /// `ak_live_…Qx9Q`: prefix, environment and the last four characters.
    public var hint: String { "\(prefix)_\(environment.rawValue)_\u{2026}\(text.suffix(4))" }

    public enum Format: String, CaseIterable, Sendable {
        case raw, bearer, basic, xAPIKey = "x-api-key", env
    }

    public func formatted(_ format: Format) -> String {
        switch format {
        case .raw: return text
        case .bearer: return "Authorization: Bearer \(text)"
        case .basic: return "Authorization: Basic \(Base64.encode(Array(text.utf8)))"
        case .xAPIKey: return "x-api-key: \(text)"
        case .env: return "KEYCTL_API_KEY=\(text)"
        }
    }
}

public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
