import EnclaveCore
import Release

/// `measure --expect`: compares what a file measures with a (signed) release manifest.
enum ExpectedRelease {
    /// Names `measure` prints that the manifest spells differently.
    static let aliases = ["snp-launch-digest": "MEASUREMENT"]

    /// The comparison, as text and JSON, and why it fails (nil when a target matches).
    struct Outcome {
        var text: String
        var json: JSONValue
        var failure: String?
    }

    static func check(_ reports: [MeasurementReport], against path: String, policy: String?) throws -> Outcome {
        let bytes = try FileInput.contents(of: path, limit: 64 << 20, format: "release")
        let manifest: ReleaseManifest
        if let policy {
            let report = try ReleaseVerifier.verify(
                bytes: bytes, format: path, policy: try ReleasePolicy.load(path: policy))
            if let error = report.error { throw error }
            guard let statement = report.statement else {
                throw UsageError("\(path): no release manifest in the verified payload")
            }
            manifest = statement.manifest
        } else {
            manifest = try ReleaseDocument(bytes: bytes, format: path).manifest(format: path)
            Output.warn("\(path): signatures not checked; pass --policy POLICY to verify who signed this release")
        }
        let measured = reports.flatMap { $0.values }.map { (aliases[$0.0] ?? $0.0, $0.1) }
        let result = manifest.compare(measured: measured)
        let release = "\(manifest.name) \(manifest.version)"
        var text = ""
        for t in result.targets {
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
        let failure: String? =
            result.isMatch
            ? nil
            : "the file's measurements match no target of release \(release)"
                + (result.targets.isEmpty
                    ? " (the release has no target with a register this file gives: "
                        + (Set(measured.map(\.0)).sorted().joined(separator: ", ")) + ")" : "")
        return Outcome(text: text, json: json(result, release: release, signed: policy != nil), failure: failure)
    }

    static func json(_ result: MeasurementComparison, release: String, signed: Bool) -> JSONValue {
        func differences(_ diffs: [MeasurementComparison.Difference]) -> JSONValue {
            .array(
                diffs.map {
                    .object([
                        ("register", .string($0.register)), ("expected", .string($0.expected)),
                        ("actual", .string($0.actual)),
                    ])
                })
        }
        let targets: [JSONValue] = result.targets.map { t in
            .object([
                ("target", .string(t.target.name)), ("platform", .string(t.target.platform.rawValue)),
                ("match", .bool(t.isMatch)), ("compared", .array(t.compared.map { .string($0) })),
                ("not_compared", .array(t.notCompared.map { .string($0) })),
                ("differences", differences(t.differences)),
            ])
        }
        return .object([
            ("release", .string(release)), ("signatures_checked", .bool(signed)), ("match", .bool(result.isMatch)),
            ("matching_targets", .array(result.matching.map { .string($0.name) })),
            (
                "mismatching_targets",
                .array(
                    result.mismatching.map { t, diffs in
                        .object([("target", .string(t.name)), ("differences", differences(diffs))])
                    })
            ),
            ("targets", .array(targets)),
        ])
    }
}
