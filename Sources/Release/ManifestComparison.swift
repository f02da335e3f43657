import EnclaveCore

extension ReleaseManifest {
    /// Compares measurements computed from a file (e.g. by `enclavekit measure`) with this release's
    /// targets of `platform` (all targets when nil): the targets whose every listed register equals the
    /// measured one, and for the others what differs. Register names and hex compare case-insensitively.
    ///
    /// ```swift
    /// let result = manifest.compare(measured: [("PCR0", pcr0), ("PCR1", pcr1), ("PCR2", pcr2)], platform: .nitro)
    /// result.matching.map(\.name)  // ["nitro"]
    /// ```
    public func compare(measured: [(String, String)], platform: Platform? = nil) -> MeasurementComparison {
        var result = MeasurementComparison()
        for target in targets where platform == nil || target.platform == platform {
            var differences: [MeasurementComparison.Difference] = []
            var compared: [String] = []
            for (register, value) in measured {
                guard let expected = target.measurements.first(where: { $0.0.lowercased() == register.lowercased() })
                else { continue }
                compared.append(expected.0)
                if expected.1 != value.lowercased() {
                    differences.append(.init(register: expected.0, expected: expected.1, actual: value.lowercased()))
                }
            }
            if compared.isEmpty { continue }
            let notCompared = target.measurements.map(\.0).filter { !compared.contains($0) }
            result.targets.append(
                .init(target: target, compared: compared, notCompared: notCompared, differences: differences))
            if differences.isEmpty {
                result.matching.append(target)
            } else {
                result.mismatching.append((target, differences))
            }
        }
        return result
    }
}

/// The outcome of ``ReleaseManifest/compare(measured:platform:)``.
public struct MeasurementComparison: Sendable {
    /// One register whose value differs.
    public struct Difference: Sendable, Equatable {
        public var register: String
        public var expected: String
        public var actual: String
    }

    /// One target that shares at least one register with the measured ones: which registers were
    /// compared, which of the target's registers the measured file does not give (so were not compared),
    /// and the compared ones that differ.
    public struct TargetResult: Sendable {
        public var target: ReleaseManifest.Target
        public var compared: [String]
        public var notCompared: [String]
        public var differences: [Difference]
        public var isMatch: Bool { differences.isEmpty }
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
