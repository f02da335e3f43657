import EnclaveCore

/// The policy's `rebuilders` section, in the shape of the maintainers' one: the independent rebuilders'
/// public keys and how many of them must have reproduced a release.
///
/// ```json
/// "rebuilders": {"threshold": 2, "keys": [{"name": "r1", "publicKeyFile": "keys/r1.pub.pem"}, …]}
/// ```
public struct RebuilderPolicy: Sendable, Equatable {
    public var threshold: Int
    public var keys: [TrustedKey]

    public init(threshold: Int, keys: [TrustedKey]) {
        self.threshold = threshold
        self.keys = keys
    }

    /// Parses the section; `readFile` resolves `publicKeyFile` entries.
    public init(value: JSONValue, format: String, readFile: (String) throws -> [UInt8]) throws {
        func fail(_ message: String) -> ReleaseError { ReleaseError(.policy, message, file: format) }
        guard case .object(let pairs) = value else {
            throw fail("'rebuilders' must be an object {\"threshold\": K, \"keys\": [...]}")
        }
        for (key, _) in pairs where !["threshold", "keys"].contains(key) {
            throw fail("rebuilders: unknown field '\(key)' (the section has threshold and keys)")
        }
        let keys = try ReleasePolicy.keys(value["keys"], field: "rebuilders.keys", format: format, readFile: readFile)
        guard case .number(let t)? = value["threshold"], let threshold = Int(t), threshold >= 1 else {
            throw fail("'rebuilders.threshold' must be an integer of at least 1")
        }
        guard threshold <= keys.count else {
            throw fail("rebuilders.threshold \(threshold) can never be met with \(keys.count) trusted rebuilders")
        }
        self.threshold = threshold
        self.keys = keys
    }
}

/// What `verify --attestations` found among the reproduction attestations of one release: who
/// reproduced it, who failed to, which signatures are by unknown keys, forged, or replayed under
/// another keyid, and which attestations were for another manifest.
///
/// ```swift
/// let report = RebuilderQuorum.evaluate(attestations, policy: rebuilders, manifestSHA256: m.sha256)
/// if !report.isMet { print(report.failureReason) }
/// ```
public struct RebuilderReport: Sendable, Equatable {
    /// A trusted rebuilder's verified attestation.
    public struct Vote: Sendable, Equatable {
        public var rebuilder: String
        public var source: String
        public var time: String
        /// What differed (empty for a reproduction).
        public var differences: [String]
    }

    /// A signature that did not count, and why.
    public struct Rejected: Sendable, Equatable {
        public var source: String
        public var keyid: String?
        /// The trusted rebuilder involved (the key that verifies, or the one the keyid names), if any.
        public var rebuilder: String?
        public var reason: String
    }

    /// An attestation by a trusted rebuilder for another manifest.
    public struct OtherManifest: Sendable, Equatable {
        public var rebuilder: String
        public var source: String
        public var manifestSHA256: String
    }

    public var threshold: Int
    /// The manifest digest the attestations must name.
    public var manifestSHA256: String
    /// Distinct trusted rebuilders that reproduced this manifest, in the order first seen (a rebuilder
    /// that also reported a mismatch is in ``failed`` only).
    public var reproduced: [String] = []
    /// Trusted rebuilders that report a mismatch for this manifest (each once, first attestation kept).
    public var failed: [Vote] = []
    /// Signatures no trusted rebuilder key verifies.
    public var unknown: [Rejected] = []
    /// Signatures whose keyid names a trusted rebuilder but which do not verify (forged or altered).
    public var invalid: [Rejected] = []
    /// Signatures that verify with a trusted key but carry another key's keyid (replayed): not counted.
    public var replayed: [Rejected] = []
    /// Verified attestations for another manifest digest: ignored.
    public var otherManifests: [OtherManifest] = []
    /// Envelopes that are not reproduction attestations (another predicateType): set aside.
    public var skipped: [String] = []
    /// Attestations of a rebuilder already counted (a rebuilder counts once).
    public var duplicates: [Vote] = []
    /// Every accepted vote for this manifest, reproduced or not.
    public var votes: [Vote] = []

    public var isMet: Bool { failed.isEmpty && reproduced.count >= threshold }

    /// One line explaining a failure (empty when met).
    public var failureReason: String {
        guard !isMet else { return "" }
        var parts: [String] = []
        if !failed.isEmpty {
            parts.append(
                "trusted rebuilder\(failed.count == 1 ? "" : "s") " + failed.map(\.rebuilder).joined(separator: ", ")
                    + " did NOT reproduce manifest sha256 \(manifestSHA256) (a mismatch is never outvoted)")
        }
        if reproduced.count < threshold {
            parts.append(
                "rebuilder quorum not met: \(reproduced.count) trusted rebuilder\(reproduced.count == 1 ? "" : "s") "
                    + "reproduced the release, \(threshold) required")
        }
        return parts.joined(separator: "; ")
    }

    public var json: JSONValue {
        func rejected(_ items: [Rejected]) -> JSONValue {
            .array(
                items.map {
                    .object([
                        ("source", .string($0.source)), ("keyid", $0.keyid.map { .string($0) } ?? .null),
                        ("rebuilder", $0.rebuilder.map { .string($0) } ?? .null), ("reason", .string($0.reason)),
                    ])
                })
        }
        func votes(_ items: [Vote]) -> JSONValue {
            .array(
                items.map {
                    .object([
                        ("rebuilder", .string($0.rebuilder)), ("source", .string($0.source)),
                        ("time", .string($0.time)),
                        ("differences", .array($0.differences.map { .string($0) })),
                    ])
                })
        }
        return .object([
            ("met", .bool(isMet)), ("required", .int(threshold)), ("manifestSHA256", .string(manifestSHA256)),
            ("reproduced", .array(reproduced.map { .string($0) })), ("failed", votes(failed)),
            ("unknown", rejected(unknown)), ("invalid", rejected(invalid)), ("replayed", rejected(replayed)),
            (
                "otherManifests",
                .array(
                    otherManifests.map {
                        .object([
                            ("rebuilder", .string($0.rebuilder)), ("source", .string($0.source)),
                            ("manifestSHA256", .string($0.manifestSHA256)),
                        ])
                    })
            ),
            ("duplicates", votes(duplicates)), ("skipped", .array(skipped.map { .string($0) })),
        ])
    }
}

/// Counts the distinct trusted rebuilders whose reproduction attestations say they reproduced a given
/// manifest (issue 16 item 2).
///
/// Unlike the maintainers' threshold, a rebuilder signature counts only when the key that verifies it
/// is the key its keyid names (an absent keyid is tried against every key): an attestation re-labelled
/// with another keyid is reported as replayed and not counted. A payload is read only after a trusted
/// key verified it. A trusted rebuilder that reports a mismatch for this manifest fails the quorum,
/// whatever the others say.
public enum RebuilderQuorum {
    /// The documents under each path: a file as it is; in a directory, every `*.dsse.json`,
    /// `*.sigstore.json` and `*.intoto.jsonl` (sorted by name, not recursive).
    public static func documents(paths: [String]) throws -> [(bytes: [UInt8], format: String)] {
        var out: [(bytes: [UInt8], format: String)] = []
        for path in paths {
            if FileStatus.isDirectory(path) {
                let names = try FileTree.sortedNames(path).map { String(decoding: $0, as: UTF8.self) }
                let found = names.filter { name in ReleaseDirectory.signedSuffixes.contains { name.hasSuffix($0) } }
                for name in found {
                    let full = path.hasSuffix("/") ? path + name : path + "/" + name
                    out.append((try FileInput.contents(of: full, limit: 64 << 20, format: "attestation"), full))
                }
            } else {
                out.append((try FileInput.contents(of: path, limit: 64 << 20, format: "attestation"), path))
            }
        }
        return out
    }

    /// Evaluates `documents` (envelopes, bundles or `.jsonl` lines) for the manifest `manifestSHA256`.
    /// Throws for input that does not parse, or for an attestation a trusted rebuilder signed whose
    /// payload breaks the predicate's schema.
    public static func evaluate(
        documents: [(bytes: [UInt8], format: String)], policy: RebuilderPolicy, manifestSHA256: String
    ) throws -> RebuilderReport {
        var report = RebuilderReport(threshold: policy.threshold, manifestSHA256: manifestSHA256)
        var counted = Set<String>()
        for (bytes, format) in documents {
            for (source, envelope) in try ReleaseVerifier.envelopes(bytes: bytes, format: format) {
                guard envelope.payloadType == DSSE.inTotoPayloadType,
                    ReproductionAttestation.predicateType(ofPayload: envelope.payload)
                        == ReproductionAttestation.predicateType
                else {
                    report.skipped.append(source)
                    continue
                }
                let message = envelope.pae
                for signature in envelope.signatures {
                    let verifying = policy.keys.first { $0.key.isValidSignature(signature.sig, for: message) }
                    let named = signature.keyid.flatMap { id in policy.keys.first { $0.keyid == id } }
                    guard let key = verifying else {
                        let entry = RebuilderReport.Rejected(
                            source: source, keyid: signature.keyid, rebuilder: named?.name,
                            reason: named == nil
                                ? "not signed by a trusted rebuilder key"
                                : "the signature does not verify with \(named?.name ?? "")'s key (forged or altered)")
                        if named == nil { report.unknown.append(entry) } else { report.invalid.append(entry) }
                        continue
                    }
                    if let keyid = signature.keyid, keyid != key.keyid {
                        report.replayed.append(
                            .init(
                                source: source, keyid: keyid, rebuilder: key.name,
                                reason: "verifies with \(key.name)'s key (keyid \(key.keyid)) but carries keyid "
                                    + "\(keyid): replayed under another key id, not counted"))
                        continue
                    }
                    let attestation = try ReproductionAttestation(payload: envelope.payload, format: source)
                    guard attestation.manifestSHA256 == manifestSHA256 else {
                        report.otherManifests.append(
                            .init(rebuilder: key.name, source: source, manifestSHA256: attestation.manifestSHA256))
                        continue
                    }
                    let vote = RebuilderReport.Vote(
                        rebuilder: key.name, source: source, time: attestation.time,
                        differences: attestation.differences)
                    report.votes.append(vote)
                    if attestation.reproduced {
                        if counted.contains(key.name) || report.failed.contains(where: { $0.rebuilder == key.name }) {
                            report.duplicates.append(vote)
                        } else {
                            counted.insert(key.name)
                            report.reproduced.append(key.name)
                        }
                    } else if report.failed.contains(where: { $0.rebuilder == key.name }) {
                        report.duplicates.append(vote)
                    } else {
                        report.failed.append(vote)
                        report.reproduced.removeAll { $0 == key.name }
                    }
                }
            }
        }
        return report
    }
}

extension VerificationReport {
    /// Checks the policy's rebuilder quorum against `attestations` (files' bytes and names) once the
    /// maintainers' threshold is met; records the result in ``rebuilders`` and, when the quorum is not
    /// met or a trusted rebuilder reports a mismatch, in ``error``. A policy with a `rebuilders` section
    /// and no attestations fails, saying to pass them.
    public mutating func checkRebuilders(attestations: [(bytes: [UInt8], format: String)]) throws {
        guard let rebuilders = policy.rebuilders else {
            guard attestations.isEmpty else {
                throw ReleaseError(
                    .noRebuilders, "reproduction attestations were given but the policy has no 'rebuilders' section")
            }
            return
        }
        guard let statement else { return }
        guard !attestations.isEmpty else {
            if error == nil {
                error = ReleaseError(
                    .rebuilderQuorum,
                    "the policy requires \(rebuilders.threshold) of \(rebuilders.keys.count) trusted rebuilders to "
                        + "have reproduced the release; pass their reproduction attestations with --attestations "
                        + "DIR_OR_FILES")
            }
            return
        }
        let result = try RebuilderQuorum.evaluate(
            documents: attestations, policy: rebuilders, manifestSHA256: statement.manifest.sha256)
        self.rebuilders = result
        if !result.isMet, error == nil { error = ReleaseError(.rebuilderQuorum, result.failureReason) }
    }
}
