import EnclaveCore

/// An in-toto Statement v1 (in-toto/attestation `spec/v1/statement.md`) whose predicate is an
/// EnclaveKit release manifest.
///
/// Subjects are the manifest's artifacts with their sha256; consumers match subjects by digest only.
/// The payload EnclaveKit signs is the Statement in canonical JSON.
///
/// ```swift
/// let statement = Statement(manifest: manifest)
/// let payload = statement.payload   // bytes for DSSEEnvelope.payload
/// ```
public struct Statement: Sendable, Equatable {
    public static let type = "https://in-toto.io/Statement/v1"
    /// The predicate type of an EnclaveKit release manifest, schema v1 (see `Manifests/README.md`).
    public static let releaseManifestPredicateType = "https://enclavekit.dev/attestation/release-manifest/v1"

    /// One subject: a name and a DigestSet (algorithm → lowercase hex).
    public struct Subject: Sendable, Equatable {
        public var name: String
        public var digest: [(String, String)]

        public init(name: String, digest: [(String, String)]) {
            self.name = name
            self.digest = digest
        }

        public var sha256: String? { digest.first { $0.0 == "sha256" }?.1 }

        public static func == (a: Subject, b: Subject) -> Bool {
            a.name == b.name && a.digest.elementsEqual(b.digest, by: { $0 == $1 })
        }
    }

    public var subjects: [Subject]
    public var manifest: ReleaseManifest

    public init(manifest: ReleaseManifest) {
        self.subjects = manifest.subjects
        self.manifest = manifest
    }

    public var json: JSONValue {
        .object([
            ("_type", .string(Statement.type)),
            (
                "subject",
                .array(
                    subjects.map { s in
                        .object([
                            ("name", .string(s.name)), ("digest", .object(s.digest.map { ($0.0, .string($0.1)) })),
                        ])
                    })
            ),
            ("predicateType", .string(Statement.releaseManifestPredicateType)),
            ("predicate", manifest.json),
        ])
    }

    /// Canonical JSON bytes: the DSSE payload.
    public var payload: [UInt8] { Array(json.serialized(style: .canonical).utf8) }

    /// Parses and validates a verified payload: the Statement v1 shape, our predicate type, a valid
    /// manifest, and subjects that list exactly the manifest's artifacts.
    public init(payload: [UInt8], format: String) throws {
        let value: JSONValue
        do {
            value = try JSONParser.parse(payload, format: "\(format): payload")
        } catch {
            throw ReleaseError(.statement, "the signed payload is not valid JSON (\(error))", file: format)
        }
        func fail(_ message: String) -> ReleaseError { ReleaseError(.statement, message, file: format) }
        guard case .object = value else { throw fail("the payload is not an in-toto Statement (not a JSON object)") }
        guard let type = value["_type"]?.stringValue, type == Statement.type else {
            throw fail("the payload's _type is not \(Statement.type)")
        }
        guard case .array(let items)? = value["subject"], !items.isEmpty else {
            throw fail("the Statement has no subject (in-toto requires at least one)")
        }
        var subjects: [Subject] = []
        for (i, item) in items.enumerated() {
            guard let name = item["name"]?.stringValue, case .object(let digestPairs)? = item["digest"],
                !digestPairs.isEmpty
            else { throw fail("subject \(i) needs a name and a non-empty digest") }
            var digest: [(String, String)] = []
            for (alg, v) in digestPairs {
                guard let hex = v.stringValue, !hex.isEmpty,
                    hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
                else { throw fail("subject \(i) digest '\(alg)' must be lowercase hex") }
                digest.append((alg, hex))
            }
            subjects.append(Subject(name: name, digest: digest))
        }
        guard let predicateType = value["predicateType"]?.stringValue else {
            throw fail("the Statement has no predicateType")
        }
        guard predicateType == Statement.releaseManifestPredicateType else {
            throw fail(
                "predicateType '\(predicateType)' is not an EnclaveKit release manifest "
                    + "(\(Statement.releaseManifestPredicateType))")
        }
        guard let predicate = value["predicate"] else { throw fail("the Statement has no predicate") }
        let manifest = try ReleaseManifest(value: predicate, format: format)
        for artifact in manifest.artifacts
        where !subjects.contains(where: { $0.name == artifact.name && $0.sha256 == artifact.sha256 }) {
            throw fail("artifact '\(artifact.name)' of the manifest is not a subject with the same sha256")
        }
        for subject in subjects
        where !manifest.artifacts.contains(where: { $0.name == subject.name && $0.sha256 == subject.sha256 }) {
            throw fail("subject '\(subject.name)' is not an artifact of the manifest")
        }
        self.subjects = subjects
        self.manifest = manifest
    }
}
