import EnclaveCore
import Release

/// Whether what a file measures is what a (signed) release says: the expectations check `measure
/// --expect` runs, for every command that compares measured registers with a release.
///
/// ```swift
/// let m = try FileMeasurement.measure(path: "node.eif")
/// let outcome = try ReleaseExpectation.check(m.reports, against: "node.dsse.json", policy: "policy.json")
/// if let failure = outcome.failure { print(failure) }
/// ```
public enum ReleaseExpectation {
    /// The comparison, as text and JSON, and why it fails (nil when a target matches).
    public struct Outcome: Sendable {
        public var text: String
        public var json: JSONValue
        public var failure: String?
        /// Whether the release's signatures were verified against a policy before comparing.
        public var signaturesChecked: Bool
    }

    /// Compares `reports` with the release at `path`; with `policy`, the release's signatures are verified
    /// first (k-of-n), and a release that does not verify throws its verification error; without it they
    /// are not checked (``Outcome/signaturesChecked`` says so).
    public static func check(_ reports: [MeasurementReport], against path: String, policy: String?) throws -> Outcome {
        let bytes = try FileInput.contents(of: path, limit: 64 << 20, format: "release")
        let manifest: ReleaseManifest
        if let policy {
            let report = try ReleaseVerifier.verify(
                bytes: bytes, format: path, policy: try ReleasePolicy.load(path: policy))
            if let error = report.error { throw error }
            guard let statement = report.statement else {
                throw MeasureError(.noManifest, file: path, "\(path): no release manifest in the verified payload")
            }
            manifest = statement.manifest
        } else {
            manifest = try ReleaseDocument(bytes: bytes, format: path).manifest(format: path)
        }
        let measured = ReleaseManifest.releaseNames(reports.flatMap(\.values))
        let result = manifest.compare(measured: measured)
        let release = "\(manifest.name) \(manifest.version)"
        let failure: String? =
            result.isMatch
            ? nil
            : "the file's measurements match no target of release \(release)"
                + (result.targets.isEmpty
                    ? " (the release has no target with a register this file gives: "
                        + (Set(measured.map(\.0)).sorted().joined(separator: ", ")) + ")" : "")
        return Outcome(
            text: result.text(release: release), json: result.json(release: release, signed: policy != nil),
            failure: failure, signaturesChecked: policy != nil)
    }
}

extension MeasurementComparison {
    /// One line per target: matches, or differs and then one line per differing register.
    public func text(release: String) -> String {
        var text = ""
        for t in targets {
            let compared = "compared " + t.compared.joined(separator: ", ")
            let skipped =
                t.notCompared.isEmpty
                ? "" : "; not compared (this file does not give them): " + t.notCompared.joined(separator: ", ")
            if t.isMatch {
                text += "matches release \(release), target \(t.target.name): \(compared)\(skipped)\n"
            } else {
                text += "target \(t.target.name) of release \(release) differs: \(compared)\(skipped)\n"
                for d in t.differences {
                    text +=
                        "target \(t.target.name): \(d.register) expected \(d.expected), this file gives \(d.actual)\n"
                }
            }
        }
        return text
    }

    /// The comparison as JSON: per target what was compared, not compared and differs.
    public func json(release: String, signed: Bool) -> JSONValue {
        func differences(_ diffs: [MeasurementComparison.Difference]) -> JSONValue {
            .array(
                diffs.map {
                    .object([
                        ("register", .string($0.register)), ("expected", .string($0.expected)),
                        ("actual", .string($0.actual)),
                    ])
                })
        }
        let targetValues: [JSONValue] = targets.map { t in
            .object([
                ("target", .string(t.target.name)), ("platform", .string(t.target.platform.rawValue)),
                ("match", .bool(t.isMatch)), ("compared", .array(t.compared.map { .string($0) })),
                ("not_compared", .array(t.notCompared.map { .string($0) })),
                ("differences", differences(t.differences)),
            ])
        }
        return .object([
            ("release", .string(release)), ("signatures_checked", .bool(signed)), ("match", .bool(isMatch)),
            ("matching_targets", .array(matching.map { .string($0.name) })),
            (
                "mismatching_targets",
                .array(
                    mismatching.map { t, diffs in
                        .object([("target", .string(t.name)), ("differences", differences(diffs))])
                    })
            ),
            ("targets", .array(targetValues)),
        ])
    }
}
