import EnclaveCore
import Release
import Testing

/// The one comparison of measured registers with a release target (`ReleaseManifest.Target.compare`), which
/// `measure --expect` uses per target and `attest verify --release` uses strictly.
@Suite struct TargetComparisonTests {
    static let pcr0 = String(repeating: "a0", count: 48)
    static let pcr1 = String(repeating: "a1", count: 48)
    static let pcr2 = String(repeating: "a2", count: 48)
    static let nitro = ReleaseManifest.Target(
        name: "nitro", platform: .nitro, artifacts: ["n.eif"],
        measurements: [("PCR0", pcr0), ("PCR1", pcr1), ("PCR2", pcr2)])

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var measured: [(String, String)]
        var compared: [String]
        var notCompared: [String]
        /// (register, expected, actual)
        var differences: [String]
        var isMatch: Bool
        var isCompleteMatch: Bool
    }

    static let cases: [Case] = [
        Case(
            testDescription: "all equal", measured: [("PCR0", pcr0), ("PCR1", pcr1), ("PCR2", pcr2)],
            compared: ["PCR0", "PCR1", "PCR2"], notCompared: [], differences: [], isMatch: true, isCompleteMatch: true),
        Case(
            testDescription: "one differs", measured: [("PCR0", pcr0), ("PCR1", pcr2), ("PCR2", pcr2)],
            compared: ["PCR0", "PCR1", "PCR2"], notCompared: [], differences: ["PCR1 \(pcr1) \(pcr2)"],
            isMatch: false, isCompleteMatch: false),
        Case(
            testDescription: "one missing", measured: [("PCR0", pcr0), ("PCR1", pcr1)], compared: ["PCR0", "PCR1"],
            notCompared: ["PCR2"], differences: [], isMatch: true, isCompleteMatch: false),
        Case(
            testDescription: "names and hex compare case-insensitively",
            measured: [("pcr2", pcr2.uppercased()), ("Pcr0", pcr0), ("PCR1", pcr1)],
            compared: ["PCR2", "PCR0", "PCR1"], notCompared: [], differences: [], isMatch: true, isCompleteMatch: true),
        Case(
            testDescription: "a differing value is reported in lowercase",
            measured: [("PCR0", pcr1.uppercased()), ("PCR1", pcr1), ("PCR2", pcr2)],
            compared: ["PCR0", "PCR1", "PCR2"], notCompared: [], differences: ["PCR0 \(pcr0) \(pcr1)"],
            isMatch: false, isCompleteMatch: false),
        Case(
            testDescription: "registers the target does not list are ignored",
            measured: [("PCR8", pcr0), ("MRTD", pcr0), ("PCR0", pcr0), ("PCR1", pcr1), ("PCR2", pcr2)],
            compared: ["PCR0", "PCR1", "PCR2"], notCompared: [], differences: [], isMatch: true, isCompleteMatch: true),
        Case(
            testDescription: "nothing in common", measured: [("MRTD", pcr0)], compared: [],
            notCompared: ["PCR0", "PCR1", "PCR2"], differences: [], isMatch: true, isCompleteMatch: false),
        Case(
            testDescription: "one missing, one differs", measured: [("PCR2", pcr0), ("PCR0", pcr0)],
            compared: ["PCR2", "PCR0"], notCompared: ["PCR1"], differences: ["PCR2 \(pcr2) \(pcr0)"], isMatch: false,
            isCompleteMatch: false),
    ]

    @Test(arguments: cases)
    func nitroTarget(_ c: Case) {
        for result in [Self.nitro.compare(measured: c.measured), Self.nitro.compareAttested(measured: c.measured)] {
            #expect(result.target == Self.nitro)
            #expect(result.registers == ["PCR0", "PCR1", "PCR2"])
            #expect(result.compared == c.compared)
            #expect(result.notCompared == c.notCompared)
            #expect(result.differences.map { "\($0.register) \($0.expected) \($0.actual)" } == c.differences)
            #expect(result.isMatch == c.isMatch)
            #expect(result.isCompleteMatch == c.isCompleteMatch)
        }
    }

    static let mrenclave = String(repeating: "11", count: 32)
    static let mrsigner = String(repeating: "22", count: 32)

    static func sgx(_ settings: JSONValue, platform: ReleaseManifest.Platform = .sgx) -> ReleaseManifest.Target {
        .init(
            name: "sgx", platform: platform, artifacts: ["e.so"],
            measurements: [("MRENCLAVE", mrenclave), ("MRSIGNER", mrsigner)], settings: settings)
    }

    /// The SGX settings an attestation report carries as ISVPRODID/ISVSVN (2-byte little-endian, as hex).
    @Test(arguments: [
        (JSONValue.object([("isvProdId", .int(258)), ("isvSvn", .int(3))]), ["ISVPRODID 0201", "ISVSVN 0300"]),
        (.object([("isvprodid", .int(65535)), ("isvsvn", .int(0))]), ["ISVPRODID ffff", "ISVSVN 0000"]),
        (.object([("isvProdId", .int(1)), ("isvprodid", .int(2))]), ["ISVPRODID 0100"]),
        (.object([("isvProdId", .int(65536)), ("isvSvn", .int(-1))]), []),
        (.object([("isvProdId", .string("258")), ("isvSvn", .int(7))]), ["ISVSVN 0700"]),
        (.object([]), []),
    ])
    func sgxSettingsAreAttestedRegisters(settings: JSONValue, extra: [String]) {
        let target = Self.sgx(settings)
        #expect(
            target.attestedRegisters.map { "\($0.0) \($0.1)" }
                == ["MRENCLAVE \(Self.mrenclave)", "MRSIGNER \(Self.mrsigner)"] + extra)
        // The same settings on another platform's target are no registers.
        #expect(Self.sgx(settings, platform: .tdx).attestedRegisters.count == 2)
    }

    /// Attestation compares the settings; `measure --expect` does not (a SIGSTRUCT's report gives them as
    /// decimal numbers, which are never compared with the release).
    @Test func sgxSettingsAreComparedOnlyForAttestation() {
        let target = Self.sgx(.object([("isvProdId", .int(258)), ("isvSvn", .int(3))]))
        let sigstruct = [("MRENCLAVE", Self.mrenclave), ("MRSIGNER", Self.mrsigner), ("ISVPRODID", "258")]
        let measured = target.compare(measured: sigstruct + [("ISVSVN", "3")])
        #expect(measured.registers == ["MRENCLAVE", "MRSIGNER"])
        #expect(measured.isCompleteMatch)

        let attested = target.compareAttested(measured: sigstruct)
        #expect(attested.registers == ["MRENCLAVE", "MRSIGNER", "ISVPRODID", "ISVSVN"])
        #expect(attested.notCompared == ["ISVSVN"])
        #expect(attested.differences.map { "\($0.register) \($0.expected) \($0.actual)" } == ["ISVPRODID 0201 258"])
        #expect(!attested.isCompleteMatch)

        let quote = [("MRENCLAVE", Self.mrenclave), ("MRSIGNER", Self.mrsigner), ("ISVPRODID", "0201")]
        #expect(target.compareAttested(measured: quote + [("ISVSVN", "0300")]).isCompleteMatch)
        #expect(!target.compareAttested(measured: quote + [("ISVSVN", "0400")]).isMatch)
    }

    /// The manifest-wide comparison calls the target one: targets with no register in common are left out,
    /// the others are matching or mismatching by ``MeasurementComparison/TargetResult/isMatch``.
    @Test func manifestComparisonIsPerTarget() {
        let tdx = ReleaseManifest.Target(
            name: "tdx", platform: .tdx, artifacts: ["n.eif"], measurements: [("MRTD", Self.pcr0)])
        let other = ReleaseManifest.Target(
            name: "nitro-2", platform: .nitro, artifacts: ["n.eif"], measurements: [("PCR0", Self.pcr1)])
        let digest = String(repeating: "ab", count: 32)
        let manifest = ReleaseManifest(
            name: "n", version: "1", sourceDateEpoch: 0, recipe: .init(path: "recipe.toml", sha256: digest),
            lock: .init(path: "recipe.lock", sha256: digest), inputs: [],
            artifacts: [.init(name: "n.eif", size: 1, sha256: digest)], targets: [Self.nitro, tdx, other])
        let result = manifest.compare(measured: [("PCR0", Self.pcr0), ("PCR1", Self.pcr1)])
        #expect(result.targets.map(\.target.name) == ["nitro", "nitro-2"])
        #expect(result.matching.map(\.name) == ["nitro"])
        #expect(result.mismatching.map(\.target.name) == ["nitro-2"])
        #expect(result.targets.map(\.notCompared) == [["PCR2"], []])
        #expect(manifest.compare(measured: [("PCR0", Self.pcr0)], platform: .tdx).targets.isEmpty)
    }

    @Test(arguments: [
        ("snp-launch-digest", "MEASUREMENT"), ("MEASUREMENT", "MEASUREMENT"), ("PCR0", "PCR0"),
    ])
    func measuredNamesMapToReleaseNames(measured: String, release: String) {
        #expect(ReleaseManifest.releaseNames([(measured, "00")]).map(\.0) == [release])
    }
}
