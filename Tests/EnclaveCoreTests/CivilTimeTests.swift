import EnclaveCore
import Testing

@Suite struct CivilTimeTests {
    /// Values checked with `date -u -d @SECONDS +%FT%TZ` (GNU coreutils).
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"),
        (Int64(1_665_651_482), "2022-10-13T08:58:02Z"),
        (Int64(951_782_400), "2000-02-29T00:00:00Z"),
        (Int64(4_107_542_399), "2100-02-28T23:59:59Z"),
        (Int64(-1), "1969-12-31T23:59:59Z"),
        (Int64(-62_135_596_800), "0001-01-01T00:00:00Z"),
    ])
    func formatAndParseRoundTrip(seconds: Int64, text: String) {
        #expect(CivilTime.format(seconds: seconds) == text)
        #expect(CivilTime.parseRFC3339(text) == seconds)
        #expect(CivilTime.parseRFC3339(text, utcOnly: true) == seconds)
    }

    @Test(arguments: [
        ("2022-10-13T10:58:02+02:00", Int64(1_665_651_482), false),
        ("2022-10-13T08:58:02.136Z", 1_665_651_482, true),
        ("2022-10-13t08:58:02z", 1_665_651_482, true),
        ("2022-10-13 08:58:02Z", 1_665_651_482, false),
        ("2022-10-13T03:58:02-05:00", 1_665_651_482, false),
    ])
    func acceptedForms(text: String, seconds: Int64, utc: Bool) {
        #expect(CivilTime.parseRFC3339(text) == seconds)
        #expect((CivilTime.parseRFC3339(text, utcOnly: true) != nil) == utc)
    }

    @Test(arguments: [
        "", "2022-10-13", "2022-13-01T00:00:00Z", "2022-10-32T00:00:00Z", "2022-10-13T24:00:00Z",
        "2022-10-13T08:60:02Z", "2022-10-13T08:58:02", "2022-10-13T08:58:02.Z", "2022-10-13T08:58:02+0200",
        "2022-10-13T08:58:02Zjunk", "１９７０-01-01T00:00:00Z",
    ])
    func malformedIsNil(text: String) {
        #expect(CivilTime.parseRFC3339(text) == nil)
    }

    @Test func chronoZone() {
        #expect(CivilTime.format(seconds: 0, zone: "+00:00") == "1970-01-01T00:00:00+00:00")
    }
}
