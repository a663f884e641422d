// RFC 3339 times and DURATIONs, as keyctl(1) COMMANDS defines them.

import Testing

@testable import KeyCtlCore

@Suite struct TimeTests {
    static func parse(_ s: String) -> Timestamp? { RFC3339.parse(Array(s.utf8)) }

    @Test(arguments: [
        (Timestamp(0), "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (946_684_799, "1999-12-31T23:59:59Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (1_000_000_000, "2001-09-09T01:46:40Z"),
        (1_709_210_096, "2024-02-29T12:34:56Z"),
        (1_798_761_600, "2027-01-01T00:00:00Z"),
        (2_147_483_648, "2038-01-19T03:14:08Z"),
        (4_102_444_800, "2100-01-01T00:00:00Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
    ])
    func formatAndParse(seconds: Timestamp, text: String) {
        #expect(RFC3339.format(seconds) == text)
        #expect(Self.parse(text) == seconds)
    }

    @Test func roundTripsAcrossCenturies() {
        // Every ~13 days from 1900 to 2200, at an odd time of day.
        var t: Timestamp = -2_208_988_800 + 45_296
        while t < 7_258_118_400 {
            let text = RFC3339.format(t)
            #expect(text.utf8.count == 20)
            #expect(Self.parse(text) == t, "\(text)")
            t += 1_123_457
        }
    }

    @Test(arguments: [
        ("2027-01-01T02:00:00+02:00", Timestamp(1_798_761_600)),
        ("2026-12-31T18:30:00-05:30", 1_798_761_600),
        ("2027-01-01T00:00:00+00:00", 1_798_761_600),
        ("2027-01-01T00:00:00-00:00", 1_798_761_600),
        ("2027-01-01t00:00:00z", 1_798_761_600),
        ("2027-01-01 00:00:00Z", 1_798_761_600),
        ("2027-01-01T00:00:00.999Z", 1_798_761_600),
        ("2027-01-01T00:00:00.123456789+01:00", 1_798_758_000),
        ("2016-12-31T23:59:60Z", 1_483_228_799),  // a leap second reads as :59
        ("2000-02-29T00:00:00Z", 951_782_400),
        ("2400-02-29T00:00:00Z", 13_574_563_200),
    ])
    func parsesOffsetsAndFractions(text: String, seconds: Timestamp) {
        #expect(Self.parse(text) == seconds)
    }

    @Test(arguments: [
        "",
        "2027-01-01",
        "2027-01-01T00:00:00",  // no offset
        "2027-01-01T00:00Z",
        "2027-1-01T00:00:00Z",
        "27-01-01T00:00:00Z",
        "2027/01/01T00:00:00Z",
        "2027-01-01X00:00:00Z",
        "2027-13-01T00:00:00Z",
        "2027-00-01T00:00:00Z",
        "2027-01-00T00:00:00Z",
        "2027-01-32T00:00:00Z",
        "2027-04-31T00:00:00Z",
        "2023-02-29T00:00:00Z",  // not a leap year
        "1900-02-29T00:00:00Z",  // divisible by 100, not by 400
        "2100-02-29T00:00:00Z",
        "2027-01-01T24:00:00Z",
        "2027-01-01T00:60:00Z",
        "2027-01-01T00:00:61Z",
        "2027-01-01T00:00:00.Z",
        "2027-01-01T00:00:00+0200",
        "2027-01-01T00:00:00+02",
        "2027-01-01T00:00:00+24:00",
        "2027-01-01T00:00:00+02:60",
        "2027-01-01T00:00:00ZZ",
        "2027-01-01T00:00:00Z ",
        " 2027-01-01T00:00:00Z",
        "2027-01-01T00:00:00UTC",
        "２027-01-01T00:00:00Z",
    ])
    func rejectsInvalid(text: String) {
        #expect(Self.parse(text) == nil)
    }

    @Test func leapYears() {
        for year in [1904, 1996, 2000, 2024, 2400] {
            #expect(Self.parse("\(year)-02-29T00:00:00Z") != nil, "\(year)")
        }
        for year in [1900, 1999, 2023, 2100, 2200, 2300] {
            #expect(Self.parse("\(year)-02-29T00:00:00Z") == nil, "\(year)")
        }
        // Day after Feb 28 of a leap year.
        #expect(Self.parse("2024-03-01T00:00:00Z")! - Self.parse("2024-02-28T00:00:00Z")! == 2 * 86400)
        #expect(Self.parse("2023-03-01T00:00:00Z")! - Self.parse("2023-02-28T00:00:00Z")! == 86400)
    }

    // MARK: Durations

    static let durations: [(String, Int64)] = [
        ("0s", Int64(0)),
        ("1s", 1),
        ("30m", 1800),
        ("12h", 43200),
        ("90d", 7_776_000),
        ("1d12h", 129_600),
        ("1w", 604_800),
        ("2w3d4h5m6s", 2 * 604_800 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6),
        ("0d0h", 0),
        ("007m", 420),
        ("36500d", 100 * 365 * 86400),
    ]

    @Test(arguments: durations)
    func parsesDurations(text: String, seconds: Int64) {
        #expect(DurationParser.parse(text) == seconds)
    }

    @Test(arguments: [
        "", "5", "d", "1x", "1d1d", "1h2h", "1d 12h", " 1d", "1d ", "-1d", "+1d", "1.5h", "1D", "1H", "1dh", "d1",
        "1d12", "1y", "1ms", "99999999999999999999d", "9223372036854775807s", "36501d", "5215w", "１d",
    ])
    func rejectsBadDurations(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }

    @Test func formatsDurations() {
        #expect(DurationParser.format(0) == "0s")
        #expect(DurationParser.format(129_600) == "1d12h")
        #expect(DurationParser.format(604_800) == "7d")
        #expect(DurationParser.format(7 * 86400 + 1) == "7d1s")
        for seconds: Int64 in [1, 59, 60, 3601, 90061, 7_776_000, 1_234_567] {
            #expect(DurationParser.parse(DurationParser.format(seconds)) == seconds)
        }
    }
}
