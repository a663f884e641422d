// Times are whole seconds since the Unix epoch. They are printed and stored as
// RFC 3339 UTC ("2027-01-01T00:00:00Z"); input accepts any RFC 3339 offset and
// fractional seconds (dropped). Durations are "90d", "1d12h", "30m": whole numbers
// with units s m h d w, each unit at most once.

public typealias Timestamp = Int64

public enum RFC3339 {
    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(days z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public static func format(_ t: Timestamp) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        append(t, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends "YYYY-MM-DDTHH:MM:SSZ" to `out` (years 0000-9999).
    public static func append(_ t: Timestamp, to out: inout [UInt8]) {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = t - days * 86400
        let (y, m, d) = civil(days: days)
        @inline(__always) func put(_ v: Int64, _ width: Int) {
            if width == 4 {
                out.append(UInt8(48 + v / 1000 % 10))
                out.append(UInt8(48 + v / 100 % 10))
            }
            out.append(UInt8(48 + v / 10 % 10))
            out.append(UInt8(48 + v % 10))
        }
        put(y, 4); out.append(45); put(m, 2); out.append(45); put(d, 2); out.append(84)
        put(secs / 3600, 2); out.append(58); put(secs / 60 % 60, 2); out.append(58); put(secs % 60, 2); out.append(90)
    }

    /// Parses an RFC 3339 date-time. Nil when it is not one.
    public static func parse<Bytes: Collection>(_ text: Bytes) -> Timestamp? where Bytes.Element == UInt8, Bytes.Index == Int {
        let s = text
        let n = s.count
        let b = s.startIndex
        guard n >= 20 else { return nil }
        func num(_ at: Int, _ len: Int) -> Int64? {
            var v: Int64 = 0
            for i in at..<at + len {
                let c = s[b + i]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        func at(_ i: Int) -> UInt8 { s[b + i] }
        guard let year = num(0, 4), at(4) == 45, let month = num(5, 2), at(7) == 45, let day = num(8, 2),
            at(10) == 84 || at(10) == 116 || at(10) == 32,
            let hour = num(11, 2), at(13) == 58, let minute = num(14, 2), at(16) == 58, let second = num(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var i = 19
        if i < n && at(i) == 46 {  // fractional seconds, dropped
            i += 1
            let start = i
            while i < n && at(i) >= 48 && at(i) <= 57 { i += 1 }
            guard i > start else { return nil }
        }
        guard i < n else { return nil }
        var offset: Int64 = 0
        switch at(i) {
        case 90, 122:  // Z z
            i += 1
        case 43, 45:  // + -
            guard n - i == 6, let oh = num(i + 1, 2), at(i + 3) == 58, let om = num(i + 4, 2), oh <= 23, om <= 59 else { return nil }
            offset = (oh * 3600 + om * 60) * (at(i) == 43 ? 1 : -1)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }
        let secs = min(second, 59)  // a leap second reads as :59
        let t = days(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + secs - offset
        // An offset can carry 9999-12-31 into year 10000 (or 0000-01-01 into year -1),
        // which `format` cannot write: it would be stored as year 0000. (Found by fuzzing.)
        guard t >= earliest, t <= latest else { return nil }
        return t
    }

    /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range keyctl can write.
    static let earliest: Timestamp = -62_167_219_200
    static let latest: Timestamp = 253_402_300_799

    /// Exactly "YYYY-MM-DDTHH:MM:SSZ" (20 bytes at `p`), as keyctl writes times;
    /// nil for anything else. Accepts exactly what `parse` accepts of that form.
    /// Reads three little-endian words: "YYYY-MM-", "DDTHH:MM", ":SSZ".
    static func parseCanonical(_ p: UnsafePointer<UInt8>) -> Timestamp? {
        guard let (year, month, day, seconds) = canonicalFields(p) else { return nil }
        return days(year: year, month: month, day: day) * 86400 + seconds
    }

    /// The date of a canonical time and the seconds into its day, checked; nil when it
    /// is not one. The fast keystore checker stops here: it needs no timestamp.
    @inline(__always) static func canonicalFields(_ p: UnsafePointer<UInt8>) -> (year: Int64, month: Int64, day: Int64, seconds: Int64)? {
        let raw = UnsafeRawPointer(p)
        let a = raw.loadUnaligned(as: UInt64.self)
        let b = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let c = UInt64(raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        // Separators: '-' at a[4], a[7]; 'T' at b[2], ':' at b[5]; ':' at c[0], 'Z' at c[3].
        let aSep: UInt64 = 0xFF00_00FF_0000_0000, bSep: UInt64 = 0x0000_FF00_00FF_0000, cSep: UInt64 = 0xFF00_00FF
        guard a & aSep == 0x2D00_002D_0000_0000, b & bSep == 0x0000_3A00_0054_0000, c & cSep == 0x5A00_003A else { return nil }
        // Every other byte a digit: put '0' in the separators' places, then test all eight.
        // (Subtracting '0' from all-digit words cannot borrow across bytes.)
        let zeros = SWAR.broadcast(0x30)
        let am = (a & ~aSep) | (zeros & aSep)
        let bm = (b & ~bSep) | (zeros & bSep)
        let cm = (c & ~cSep) | (zeros & cSep) | 0x3030_3030_0000_0000
        guard SWAR.allDigits(am), SWAR.allDigits(bm), SWAR.allDigits(cm) else { return nil }
        let da = am &- zeros, db = bm &- zeros, dc = cm &- zeros
        @inline(__always) func digit(_ w: UInt64, _ i: UInt64) -> Int64 { Int64((w >> (8 * i)) & 0xFF) }
        let year = digit(da, 0) * 1000 + digit(da, 1) * 100 + digit(da, 2) * 10 + digit(da, 3)
        let month = digit(da, 5) * 10 + digit(da, 6)
        let day = digit(db, 0) * 10 + digit(db, 1)
        let hour = digit(db, 3) * 10 + digit(db, 4)
        let minute = digit(db, 6) * 10 + digit(db, 7)
        let second = digit(dc, 1) * 10 + digit(dc, 2)
        guard month >= 1, month <= 12, day >= 1, day <= daysIn(month: month, year: year), hour <= 23, minute <= 59, second <= 60
        else { return nil }
        return (year, month, day, hour * 3600 + minute * 60 + min(second, 59))
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// Every time keyctl computes (now + a duration) and then stores or prints must fit
/// in RFC 3339's four-digit year; past 9999-12-31T23:59:59Z it would be written as a
/// wrapped date (1.0 stored year 0000 and the new key was born expired). Each such sum
/// goes through `later`, which makes it a usage error instead.
public enum TimeLimit {
    public static var latest: Timestamp { RFC3339.latest }

    /// `time + seconds`, or nil when that is past 9999-12-31T23:59:59Z.
    public static func later(_ time: Timestamp, by seconds: Int64) -> Timestamp? {
        let (sum, overflow) = time.addingReportingOverflow(seconds)
        return overflow || sum > RFC3339.latest ? nil : sum
    }

    /// `time + seconds`, or a usage error naming `what` (for example "--expires-in 90d").
    static func later(_ time: Timestamp, by seconds: Int64, what: String, hint: String, command: String) throws -> Timestamp {
        guard let t = later(time, by: seconds) else {
            throw KeyCtlError.usage(
                "\(what) would end after \(RFC3339.format(RFC3339.latest)), the latest time keyctl can store; \(hint)",
                command: command)
        }
        return t
    }
}

public enum DurationParser {
    /// The longest duration keyctl accepts anywhere: 100 years.
    public static let maximum: Int64 = 100 * 365 * 86400

    public enum Outcome: Equatable {
        case seconds(Int64)
        /// Well formed, but longer than `maximum`.
        case tooLarge
        case invalid
    }

    /// Seconds in `text` ("90d", "1d12h", "30m", "0s"), or nil when it is not a duration
    /// or is longer than `maximum`.
    public static func parse(_ text: String) -> Int64? {
        if case .seconds(let s) = read(text) { return s }
        return nil
    }

    /// `text` as a duration, telling one too large (which a message should answer with
    /// the maximum) from one that is not a duration at all.
    public static func read(_ text: String) -> Outcome {
        var total: Int64 = 0
        var number: Int64 = 0
        var digits = 0
        var seen = Set<UInt8>()
        var tooLarge = false
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                number = number * 10 + Int64(c - 48)
                digits += 1
                // Keep reading (the rest may not be a duration at all), saturated.
                if number > maximum {
                    tooLarge = true
                    number = maximum + 1
                }
            default:
                let unit: Int64
                switch c {
                case UInt8(ascii: "s"): unit = 1
                case UInt8(ascii: "m"): unit = 60
                case UInt8(ascii: "h"): unit = 3600
                case UInt8(ascii: "d"): unit = 86400
                case UInt8(ascii: "w"): unit = 604800
                default: return .invalid
                }
                guard digits > 0, seen.insert(c).inserted else { return .invalid }
                total += number * unit  // both at most maximum + 1, so no overflow
                if total > maximum {
                    tooLarge = true
                    total = maximum + 1
                }
                number = 0
                digits = 0
            }
        }
        guard digits == 0, !seen.isEmpty else { return .invalid }
        return tooLarge ? .tooLarge : .seconds(total)
    }

    /// `seconds` spelled in days and smaller units, e.g. 129600 → "1d12h", 604800 → "7d"
    /// (days read better than weeks in a limit: "at most 7d").
    public static func format(_ seconds: Int64) -> String {
        if seconds == 0 { return "0s" }
        var rest = seconds
        var out = ""
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}
