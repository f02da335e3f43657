import Release
import Testing

/// The parsers behind `policy init --key` and `verify --expect`: they throw `ReleaseError`s that quote the
/// text and name no flag (the command line adds the flag in its hint).
@Suite struct ArgumentParsingTests {
    @Test(arguments: [
        ("alice=keys/alice.pub.pem", "alice", "keys/alice.pub.pem"),
        ("a=b=c", "a", "b=c"),
    ])
    func keySpecParses(text: String, name: String, path: String) throws {
        #expect(try PolicyFile.KeySpec(parsing: text) == PolicyFile.KeySpec(name: name, path: path))
    }

    @Test(arguments: ["alice", "=keys/alice.pub.pem", "alice=", ""])
    func keySpecRejects(text: String) {
        let error = #expect(throws: ReleaseError(.keySpec, "")) { try PolicyFile.KeySpec(parsing: text) }
        #expect(error?.message == "'\(text)': expected NAME=PUBLIC-KEY-FILE")
        #expect(error?.message.contains("--") == false)
    }

    @Test(arguments: [
        ("nitro.PCR0=0xABcd", "nitro", "PCR0", "abcd"),
        ("MRTD=00ff", nil, "MRTD", "00ff"),
        ("sev-snp.v2.MEASUREMENT=aa", "sev-snp.v2", "MEASUREMENT", "aa"),
    ])
    func expectationParses(text: String, target: String?, register: String, value: String) throws {
        let parsed = try MeasurementExpectation(parsing: text)
        #expect(parsed == MeasurementExpectation(target: target, register: register, value: value))
    }

    @Test(arguments: [
        ("PCR0", "expected [TARGET.]REGISTER=HEX, got 'PCR0'"),
        ("PCR0=abc", "'PCR0=abc': expected [TARGET.]REGISTER=HEX with an even number of hex digits (0x optional)"),
        ("nitro.=ab", "'nitro.=ab': expected [TARGET.]REGISTER=HEX with an even number of hex digits (0x optional)"),
        ("PCR0=", "'PCR0=': expected [TARGET.]REGISTER=HEX with an even number of hex digits (0x optional)"),
    ])
    func expectationRejects(text: String, message: String) {
        let error = #expect(throws: ReleaseError(.expectation, "")) { try MeasurementExpectation(parsing: text) }
        #expect(error?.message == message)
    }

    @Test func policyNeedsAKey() {
        #expect(throws: ReleaseError(.noKeys, "")) {
            try PolicyFile.make(keys: [], threshold: 1, policyPath: "policy.json")
        }
    }
}
