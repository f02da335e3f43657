import EnclaveCore
import Release

/// `measure --expect`: compares what a file measures with a (signed) release manifest.
enum ExpectedRelease {
    /// Names `measure` prints that the manifest spells differently.
    static let aliases = ["snp-launch-digest": "MEASUREMENT"]

    static func check(_ reports: [MeasurementReport], against path: String, policy: String?, json: Bool) throws {
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
        if json {
            print(
                JSONValue.object([
                    ("release", .string("\(manifest.name) \(manifest.version)")),
                    ("matching_targets", .array(result.matching.map { .string($0.name) })),
                    (
                        "mismatching_targets",
                        .array(
                            result.mismatching.map { t, diffs in
                                .object([
                                    ("target", .string(t.name)),
                                    (
                                        "differences",
                                        .array(
                                            diffs.map {
                                                .object([
                                                    ("register", .string($0.register)),
                                                    ("expected", .string($0.expected)), ("actual", .string($0.actual)),
                                                ])
                                            })
                                    ),
                                ])
                            })
                    ),
                ]).serialized(style: .pretty))
        } else {
            for target in result.matching {
                print("matches release \(manifest.name) \(manifest.version), target \(target.name)")
            }
            for (target, diffs) in result.mismatching {
                for d in diffs {
                    print("target \(target.name): \(d.register) expected \(d.expected), this file gives \(d.actual)")
                }
            }
        }
        guard result.isMatch else {
            throw UsageError(
                "the file's measurements match no target of release \(manifest.name) \(manifest.version)",
                hint: result.mismatching.isEmpty ? "the release has no target for this kind of file" : nil)
        }
    }
}
