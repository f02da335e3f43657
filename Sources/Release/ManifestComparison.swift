import EnclaveCore

extension ReleaseManifest {
    /// Register names that `enclavekit measure` reports and release manifests spell differently
    /// (measured name → manifest name): the one table every comparison with a release uses.
    public static let registerAliases = ["snp-launch-digest": "MEASUREMENT"]

    /// `measured` with each register renamed to the name release manifests use (``registerAliases``).
    ///
    /// ```swift
    /// ReleaseManifest.releaseNames([("snp-launch-digest", digest)])  // [("MEASUREMENT", digest)]
    /// ```
    public static func releaseNames(_ measured: [(String, String)]) -> [(String, String)] {
        measured.map { (registerAliases[$0.0] ?? $0.0, $0.1) }
    }

    /// Compares measurements computed from a file (e.g. by `enclavekit measure`) with this release's
    /// targets of `platform` (all targets when nil): the targets whose every listed register equals the
    /// measured one, and for the others what differs. Each target is compared by
    /// ``Target/compare(measured:)``; targets that share no register with `measured` are left out.
    ///
    /// ```swift
    /// let result = manifest.compare(measured: [("PCR0", pcr0), ("PCR1", pcr1), ("PCR2", pcr2)], platform: .nitro)
    /// result.matching.map(\.name)  // ["nitro"]
    /// ```
    public func compare(measured: [(String, String)], platform: Platform? = nil) -> MeasurementComparison {
        var result = MeasurementComparison()
        for target in targets where platform == nil || target.platform == platform {
            let compared = target.compare(measured: measured)
            if compared.compared.isEmpty { continue }
            result.targets.append(compared)
            if compared.isMatch {
                result.matching.append(target)
            } else {
                result.mismatching.append((target, compared.differences))
            }
        }
        return result
    }
}

extension ReleaseManifest.Target {
    /// The registers attestation evidence of this target carries, as (name, lowercase hex): the target's
    /// ``measurements`` and, for SGX, its `isvProdId` and `isvSvn` settings as `ISVPRODID` and `ISVSVN`
    /// (the report body's 2-byte little-endian fields, as hex; `enclavekit build` writes the settings,
    /// older hand-written manifests spell them in lowercase; a value that is not a UInt16 is left out).
    ///
    /// Only attestation compares these: `enclavekit measure` reports a SIGSTRUCT's ISVPRODID/ISVSVN as
    /// decimal numbers and no other measured file has them, so ``compare(measured:)`` (what `measure
    /// --expect` uses) keeps to ``measurements``.
    ///
    /// ```swift
    /// // settings {"isvProdId": 258, "isvSvn": 3}
    /// target.attestedRegisters  // [("MRENCLAVE", …), ("MRSIGNER", …), ("ISVPRODID", "0201"), ("ISVSVN", "0300")]
    /// ```
    public var attestedRegisters: [(String, String)] {
        var registers = measurements.map { ($0.0, $0.1.lowercased()) }
        guard platform == .sgx else { return registers }
        for (key, register) in [("isvProdId", "ISVPRODID"), ("isvSvn", "ISVSVN")] {
            guard case .number(let text) = settings[key] ?? settings[key.lowercased()], let value = UInt16(text)
            else { continue }
            registers.append((register, Hex.encode([UInt8(value & 0xFF), UInt8(value >> 8)])))
        }
        return registers
    }

    /// Compares measured registers (name, hex) with this target's ``measurements``: each measured
    /// register the target lists (names compare case-insensitively, hex digits too) is compared, in
    /// `measured` order; the target's registers that `measured` does not give are
    /// ``MeasurementComparison/TargetResult/notCompared``.
    /// ``MeasurementComparison/TargetResult/isMatch`` says no compared register differs;
    /// ``MeasurementComparison/TargetResult/isCompleteMatch`` also that every register was compared.
    ///
    /// ```swift
    /// let result = target.compare(measured: [("pcr0", pcr0), ("PCR1", pcr1)])
    /// result.notCompared  // ["PCR2"]
    /// ```
    public func compare(measured: [(String, String)]) -> MeasurementComparison.TargetResult {
        compare(measured: measured, registers: measurements)
    }

    /// Like ``compare(measured:)``, against ``attestedRegisters``: what `attest verify --release`
    /// checks, requiring ``MeasurementComparison/TargetResult/isCompleteMatch``.
    public func compareAttested(measured: [(String, String)]) -> MeasurementComparison.TargetResult {
        compare(measured: measured, registers: attestedRegisters)
    }

    private func compare(
        measured: [(String, String)], registers: [(String, String)]
    ) -> MeasurementComparison.TargetResult {
        var differences: [MeasurementComparison.Difference] = []
        var compared: [String] = []
        for (register, value) in measured {
            guard let expected = registers.first(where: { $0.0.lowercased() == register.lowercased() })
            else { continue }
            compared.append(expected.0)
            if expected.1.lowercased() != value.lowercased() {
                differences.append(
                    .init(register: expected.0, expected: expected.1.lowercased(), actual: value.lowercased()))
            }
        }
        let notCompared = registers.map(\.0).filter { !compared.contains($0) }
        return .init(
            target: self, registers: registers.map(\.0), compared: compared, notCompared: notCompared,
            differences: differences)
    }
}

/// The outcome of ``ReleaseManifest/compare(measured:platform:)``.
public struct MeasurementComparison: Sendable {
    /// One register whose value differs.
    public struct Difference: Sendable, Equatable {
        public var register: String
        /// The release's value, lowercase hex.
        public var expected: String
        /// The measured value, lowercase hex.
        public var actual: String
    }

    /// One target compared with measured registers (``ReleaseManifest/Target/compare(measured:)``):
    /// which registers were compared, which of the target's registers the measured ones do not give
    /// (so were not compared), and the compared ones that differ.
    public struct TargetResult: Sendable {
        public var target: ReleaseManifest.Target
        /// The target's registers the measured ones were compared with, in manifest order.
        public var registers: [String]
        public var compared: [String]
        public var notCompared: [String]
        public var differences: [Difference]
        /// No compared register differs (registers not given are not held against the target).
        public var isMatch: Bool { differences.isEmpty }
        /// Every one of the target's registers was given and equal, and the target has at least one.
        public var isCompleteMatch: Bool { differences.isEmpty && notCompared.isEmpty && !registers.isEmpty }
    }

    /// Every target compared, in manifest order.
    public var targets: [TargetResult] = []
    /// Targets whose registers all equal the measured ones.
    public var matching: [ReleaseManifest.Target] = []
    /// Targets sharing at least one register name, with the registers that differ.
    public var mismatching: [(target: ReleaseManifest.Target, differences: [Difference])] = []

    /// True when at least one target matches.
    public var isMatch: Bool { !matching.isEmpty }
}
