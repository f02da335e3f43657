import EnclaveCore

/// A measurement the caller expects the release to contain (`--expect-pcr0 HEX`, `--expect tdx.MRTD=HEX`).
///
/// ```swift
/// let e = try MeasurementExpectation(parsing: "nitro.PCR0=65956609…")
/// ```
public struct MeasurementExpectation: Sendable, Equatable {
    /// A target name or platform (`nitro`, `tdx`, `sev-snp`, `sgx`), or nil for any target.
    public var target: String?
    public var register: String
    /// Lowercase hex.
    public var value: String

    public init(target: String?, register: String, value: String) {
        self.target = target
        self.register = register
        self.value = value.lowercased()
    }

    /// `[TARGET.]REGISTER=HEX`, the hex with an optional `0x`; anything else throws
    /// ``ReleaseError/Kind/expectation``.
    public init(parsing text: String) throws(ReleaseError) {
        guard let eq = text.firstIndex(of: "=") else {
            throw ReleaseError(.expectation, "expected [TARGET.]REGISTER=HEX, got '\(text)'")
        }
        let lhs = String(text[..<eq])
        let hex = String(text[text.index(after: eq)...])
        let dot = lhs.lastIndex(of: ".")
        let target = dot.map { String(lhs[..<$0]) }
        let register = dot.map { String(lhs[lhs.index(after: $0)...]) } ?? lhs
        guard !register.isEmpty, let value = Hex.normalized(hex), !value.isEmpty else {
            throw ReleaseError(
                .expectation,
                "'\(text)': expected [TARGET.]REGISTER=HEX with an even number of hex digits (0x optional)")
        }
        self.init(target: target, register: register, value: value)
    }

    public var label: String { (target.map { "\($0)." } ?? "") + register }
}

/// Everything `verify` found: the signers and the threshold verdict, the release manifest (only when
/// the threshold is met), each artifact's match and each expected measurement's match.
///
/// ```swift
/// let report = try ReleaseVerifier.verify(bytes: b, format: path, policy: policy)
/// if let error = report.error { throw error }
/// ```
public struct VerificationReport: Sendable {
    /// One `--artifact` file.
    public struct ArtifactResult: Sendable, Equatable {
        public var path: String
        public var sha256: String
        /// The subject whose sha256 matches, or nil.
        public var subject: String?
    }

    /// One expected measurement.
    public struct ExpectationResult: Sendable, Equatable {
        public var expectation: MeasurementExpectation
        /// The target whose register matched, or nil.
        public var matchedTarget: String?
    }

    public var payloadType: String
    public var threshold: ThresholdResult
    public var policy: ReleasePolicy
    /// Present only when the signatures met the threshold (an unauthenticated payload is not read).
    public var statement: Statement?
    public var artifacts: [ArtifactResult] = []
    public var expectations: [ExpectationResult] = []
    /// The first reason the release is not verified, or nil when it is.
    public var error: ReleaseError?
    /// The rebuilder quorum's result, when the policy has rebuilders and attestations were checked.
    public var rebuilders: RebuilderReport?

    public var isVerified: Bool { error == nil }

    /// The report as JSON (for `verify --json`).
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("verified", .bool(isVerified)),
            ("payloadType", .string(payloadType)),
            (
                "signatures",
                .array(
                    threshold.entries.map { e in
                        let (status, key): (String, String?) =
                            switch e.status {
                            case .trusted(let name): ("trusted", name)
                            case .duplicate(let name): ("duplicate", name)
                            case .invalid(let name): ("invalid", name)
                            case .untrusted: ("untrusted", nil)
                            }
                        return .object([
                            ("index", .int(e.index)), ("keyid", e.keyid.map { .string($0) } ?? .null),
                            ("status", .string(status)), ("key", key.map { .string($0) } ?? .null),
                        ])
                    })
            ),
            (
                "threshold",
                .object([
                    ("required", .int(threshold.threshold)), ("signed", .int(threshold.signers.count)),
                    ("met", .bool(threshold.isMet)), ("signers", .array(threshold.signers.map { .string($0) })),
                ])
            ),
            (
                "trustedKeys",
                .array(policy.keys.map { .object([("name", .string($0.name)), ("keyid", .string($0.keyid))]) })
            ),
        ]
        if let statement {
            fields.append(
                (
                    "release",
                    .object([
                        ("name", .string(statement.manifest.name)), ("version", .string(statement.manifest.version)),
                    ])
                ))
            fields.append(
                (
                    "subjects",
                    .array(
                        statement.subjects.map {
                            .object([("name", .string($0.name)), ("sha256", .string($0.sha256 ?? ""))])
                        })
                ))
            fields.append(
                (
                    "measurements",
                    .array(
                        statement.manifest.targets.map { t in
                            .object([
                                ("target", .string(t.name)), ("platform", .string(t.platform.rawValue)),
                                ("values", .object(t.measurements.map { ($0.0, .string($0.1)) })),
                                ("settings", t.settings),
                            ])
                        })
                ))
        }
        fields.append(
            (
                "artifacts",
                .array(
                    artifacts.map {
                        .object([
                            ("path", .string($0.path)), ("sha256", .string($0.sha256)),
                            ("subject", $0.subject.map { .string($0) } ?? .null), ("matches", .bool($0.subject != nil)),
                        ])
                    })
            ))
        fields.append(
            (
                "expectations",
                .array(
                    expectations.map {
                        .object([
                            ("measurement", .string($0.expectation.label)), ("expected", .string($0.expectation.value)),
                            ("target", $0.matchedTarget.map { .string($0) } ?? .null),
                            ("matches", .bool($0.matchedTarget != nil)),
                        ])
                    })
            ))
        if let rebuilders { fields.append(("rebuilders", rebuilders.json)) }
        if let error { fields.append(("error", .string(error.description))) }
        return .object(fields)
    }
}

/// Verifies a signed release against a policy (issue 7 "Policy"): PAE signatures, distinct trusted
/// keys counted against k, then (only then) the Statement and manifest schema, then each artifact's
/// sha256 against the subjects and each expected measurement against the manifest.
///
/// ```swift
/// let report = try ReleaseVerifier.verify(bytes: envelopeBytes, format: "release.dsse.json",
///                                         policy: policy, artifacts: ["image.eif"])
/// ```
public enum ReleaseVerifier {
    /// The envelopes in one document: an envelope, a bundle, or (for `.jsonl`) one per non-empty line.
    public static func envelopes(bytes: [UInt8], format: String) throws -> [(String, DSSEEnvelope)] {
        var items: [(String, [UInt8])] = [(format, bytes)]
        if format.hasSuffix(".jsonl") {
            items = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated().compactMap { i, line in
                line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 })
                    ? nil : ("\(format): line \(i + 1)", Array(line))
            }
        }
        return try items.map { source, item in
            switch try ReleaseDocument(bytes: item, format: source) {
            case .envelope(let e): return (source, e)
            case .bundle(let b): return (source, b.envelope)
            case .manifest:
                throw ReleaseError(
                    .statement, "this is an unsigned manifest; verify the envelope made by 'enclavekit sign'",
                    file: source)
            }
        }
    }

    /// payloadTypes accepted: the in-toto one (in-toto `envelope.md`; consumers rely on predicateType).
    public static let acceptedPayloadTypes: Set<String> = [DSSE.inTotoPayloadType]

    /// Verifies one document (an envelope, a Sigstore bundle, or `.jsonl` lines of them); see
    /// ``verify(documents:policy:artifacts:expectations:progress:)``.
    public static func verify(
        bytes: [UInt8], format: String, policy: ReleasePolicy, artifacts: [String] = [],
        expectations: [MeasurementExpectation] = [], progress: ProgressFactory? = nil
    ) throws -> VerificationReport {
        try verify(
            documents: [(bytes, format)], policy: policy, artifacts: artifacts, expectations: expectations,
            progress: progress)
    }

    /// Verifies; throws for input that does not parse, returns a report whose ``VerificationReport/error``
    /// says why a well-formed release does not verify.
    ///
    /// Several documents (one Sigstore bundle per signer, several envelopes, or the lines of an in-toto
    /// `.intoto.jsonl` bundle) must all carry the same payload and payloadType; their signatures are
    /// pooled and counted against the threshold together (a key still counts once).
    public static func verify(
        documents: [(bytes: [UInt8], format: String)], policy: ReleasePolicy, artifacts: [String] = [],
        expectations: [MeasurementExpectation] = [], progress: ProgressFactory? = nil
    ) throws -> VerificationReport {
        var pooled: DSSEEnvelope?
        var firstSource = ""
        for (bytes, format) in documents {
            for (source, envelope) in try envelopes(bytes: bytes, format: format) {
                guard acceptedPayloadTypes.contains(envelope.payloadType) else {
                    throw ReleaseError(
                        .payloadType,
                        "payloadType '\(envelope.payloadType)' is not \(DSSE.inTotoPayloadType) (was the envelope altered?)",
                        file: source)
                }
                guard var combined = pooled else {
                    pooled = envelope
                    firstSource = source
                    continue
                }
                guard envelope.payload == combined.payload else {
                    throw ReleaseError(
                        .statement,
                        "carries a different payload than \(firstSource); every envelope must sign the same Statement",
                        file: source)
                }
                combined.signatures += envelope.signatures
                pooled = combined
            }
        }
        guard let envelope = pooled else { throw ReleaseError(.noEnvelope, "no envelope to verify") }
        let format = firstSource
        let threshold = ThresholdVerifier.verify(envelope, trusted: policy.keys, threshold: policy.threshold)
        var report = VerificationReport(payloadType: envelope.payloadType, threshold: threshold, policy: policy)
        guard threshold.isMet else {
            report.error = ReleaseError(.thresholdNotMet, threshold.failureReason, file: format)
            return report
        }
        // Parse the exact bytes that were verified.
        let statement = try Statement(payload: envelope.payload, format: format)
        report.statement = statement

        for path in artifacts {
            let file = try FileInput(path: path)
            let bar = progress?(path, file.size)
            let digest = Digest(.sha256)
            try FileStream.forEachChunk(of: file, ranges: [0..<file.size], progress: bar) { _, chunk in
                digest.update(chunk)
            }
            bar?.finish()
            let hex = digest.finalize().hex
            let subject = statement.subjects.first { $0.sha256 == hex }
            report.artifacts.append(.init(path: path, sha256: hex, subject: subject?.name))
            if subject == nil, report.error == nil {
                report.error = ReleaseError(
                    .artifactMismatch,
                    "sha256 \(hex) matches no subject of the release (subjects: "
                        + statement.subjects.map(\.name).joined(separator: ", ") + ")",
                    file: path)
            }
        }

        for expectation in expectations {
            let candidates = statement.manifest.targets.filter {
                expectation.target == nil || $0.name == expectation.target || $0.platform.rawValue == expectation.target
            }
            let match = candidates.first { $0.measurement(expectation.register) == expectation.value }
            report.expectations.append(.init(expectation: expectation, matchedTarget: match?.name))
            if match == nil, report.error == nil {
                let found = candidates.compactMap { t in t.measurement(expectation.register).map { "\(t.name): \($0)" }
                }
                report.error = ReleaseError(
                    .measurementMismatch,
                    found.isEmpty
                        ? "no target of the release has \(expectation.label)"
                        : "\(expectation.label) is not \(expectation.value); the release has "
                            + found.joined(separator: ", "))
            }
        }
        return report
    }
}
