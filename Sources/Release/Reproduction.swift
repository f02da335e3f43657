import EnclaveCore

extension ReleaseManifest {
    /// The sha256 of the manifest's canonical bytes (what `build` writes): the subject of a reproduction
    /// attestation. The same manifest read from a file, an envelope or a bundle has the same digest.
    public var sha256: String { Digest.sha256(canonicalBytes).hex }
}

/// A rebuilder's signed statement that it rebuilt a release and got (or did not get) the same
/// manifest: an in-toto Statement v1 whose subject is the release manifest (`manifest.json` with the
/// sha256 of its canonical bytes) and whose predicate, of type ``predicateType``, records the result,
/// the differing fields, the rebuilder's environment and the time (see `Manifests/README.md`).
///
/// ```swift
/// let attestation = ReproductionAttestation(manifest: m, reproduced: true, environment: env,
///                                           time: "2026-12-02T03:00:00Z")
/// let envelope = try attestation.envelope(signedWith: key)
/// ```
public struct ReproductionAttestation: Sendable, Equatable {
    /// The predicate type of an EnclaveKit reproduction attestation, version 1.
    public static let predicateType = "https://enclavekit.dev/attestation/reproduction/v1"
    /// The subject name of the release manifest.
    public static let subjectName = "manifest.json"

    /// Where and how the rebuild ran.
    public struct Environment: Sendable, Equatable {
        public var enclavekitVersion: String
        /// `uname -r`.
        public var kernel: String
        /// `bwrap --version`, or "unknown".
        public var bubblewrap: String
        /// The `model name` of /proc/cpuinfo, or "unknown".
        public var cpu: String
        /// The variations `rebuild --vary` applied (empty for a plain rebuild).
        public var variations: [String]
        /// Those of ``variations`` that broke reproduction alone (`variationsBreaking`, written only when
        /// ``variations`` is not empty, so a plain rebuild's predicate is as it always was).
        public var variationsBreaking: [String] = []
        /// Whether step outputs were taken from the step cache (`--reuse-steps`).
        public var stepCacheReused: Bool
        /// The steps whose output came from the step cache and did not run.
        public var cachedSteps: [String]

        public init(
            enclavekitVersion: String = EnclaveKitVersion.string, kernel: String, bubblewrap: String, cpu: String,
            variations: [String] = [], stepCacheReused: Bool = false, cachedSteps: [String] = []
        ) {
            self.enclavekitVersion = enclavekitVersion
            self.kernel = kernel
            self.bubblewrap = bubblewrap
            self.cpu = cpu
            self.variations = variations
            self.stepCacheReused = stepCacheReused
            self.cachedSteps = cachedSteps
        }
    }

    /// The release: its name and version (informational) and the manifest digest (what counts).
    public var releaseName: String
    public var releaseVersion: String
    public var manifestSHA256: String
    public var reproduced: Bool
    /// What differed, one line per difference (empty when reproduced).
    public var differences: [String]
    public var environment: Environment
    /// When the rebuild finished, RFC 3339 UTC (`2026-12-02T03:00:00Z`).
    public var time: String

    public init(
        manifest: ReleaseManifest, reproduced: Bool, differences: [String] = [], environment: Environment,
        time: String
    ) {
        self.releaseName = manifest.name
        self.releaseVersion = manifest.version
        self.manifestSHA256 = manifest.sha256
        self.reproduced = reproduced
        self.differences = differences
        self.environment = environment
        self.time = time
    }

    /// Whether `text` is an RFC 3339 UTC time of the form `YYYY-MM-DDTHH:MM:SSZ`.
    public static func isRFC3339UTC(_ text: String) -> Bool {
        let b = Array(text.utf8)
        return b.count == 20 && b[10] == 0x54 && b[19] == 0x5A && CivilTime.parseRFC3339(text, utcOnly: true) != nil
    }

    public var predicate: JSONValue {
        var env: [(String, JSONValue)] = [
            ("enclavekitVersion", .string(environment.enclavekitVersion)),
            ("kernel", .string(environment.kernel)), ("bubblewrap", .string(environment.bubblewrap)),
            ("cpu", .string(environment.cpu)),
            ("variations", .array(environment.variations.map { .string($0) })),
        ]
        if !environment.variations.isEmpty {
            env.append(("variationsBreaking", .array(environment.variationsBreaking.map { .string($0) })))
        }
        env += [
            ("stepCache", .string(environment.stepCacheReused ? "reused" : "not used")),
            ("cachedSteps", .array(environment.cachedSteps.map { .string($0) })),
        ]
        return .object([
            (
                "result",
                .object([("reproduced", .bool(reproduced)), ("differences", .array(differences.map { .string($0) }))])
            ),
            ("release", .object([("name", .string(releaseName)), ("version", .string(releaseVersion))])),
            ("environment", .object(env)),
            ("time", .string(time)),
        ])
    }

    /// The in-toto Statement.
    public var statement: JSONValue {
        .object([
            ("_type", .string(Statement.type)),
            (
                "subject",
                .array([
                    .object([
                        ("name", .string(ReproductionAttestation.subjectName)),
                        ("digest", .object([("sha256", .string(manifestSHA256))])),
                    ])
                ])
            ),
            ("predicateType", .string(ReproductionAttestation.predicateType)),
            ("predicate", predicate),
        ])
    }

    /// Canonical JSON bytes of the Statement: the DSSE payload.
    public var payload: [UInt8] { Array(statement.serialized(style: .canonical).utf8) }

    /// A new DSSE envelope (in-toto payloadType) signed by `key`, with its securesystemslib keyid.
    public func envelope(signedWith key: SigningKey) throws -> DSSEEnvelope {
        var envelope = DSSEEnvelope(payload: payload, payloadType: DSSE.inTotoPayloadType)
        envelope.signatures.append(.init(keyid: key.publicKey.keyid, sig: try key.sign(envelope.pae)))
        return envelope
    }

    /// The predicateType of a payload, or nil when it is not an in-toto Statement (used only to set aside
    /// envelopes that are not reproduction attestations; nothing else is read before verification).
    public static func predicateType(ofPayload payload: [UInt8]) -> String? {
        guard let value = try? JSONParser.parse(payload, format: "payload"),
            value["_type"]?.stringValue == Statement.type
        else { return nil }
        return value["predicateType"]?.stringValue
    }

    /// Parses a verified payload: a Statement v1 with one subject `manifest.json` (sha256) and a
    /// reproduction predicate.
    public init(payload: [UInt8], format: String) throws {
        func fail(_ message: String) -> ReleaseError { ReleaseError(.statement, message, file: format) }
        let value: JSONValue
        do {
            value = try JSONParser.parse(payload, format: "\(format): payload")
        } catch {
            throw fail("the signed payload is not valid JSON (\(error))")
        }
        guard value["_type"]?.stringValue == Statement.type else {
            throw fail("the payload's _type is not \(Statement.type)")
        }
        guard value["predicateType"]?.stringValue == ReproductionAttestation.predicateType else {
            throw fail("predicateType is not \(ReproductionAttestation.predicateType)")
        }
        guard case .array(let subjects)? = value["subject"], subjects.count == 1,
            let digest = subjects[0]["digest"]?["sha256"]?.stringValue, digest.utf8.count == 64,
            Hex.decode(digest) != nil, digest == digest.lowercased()
        else { throw fail("a reproduction attestation has one subject, the manifest, with a lowercase hex sha256") }
        guard let predicate = value["predicate"], case .object = predicate else {
            throw fail("the Statement has no predicate object")
        }
        guard case .bool(let reproduced)? = predicate["result"]?["reproduced"] else {
            throw fail("predicate.result.reproduced must be true or false")
        }
        func strings(_ v: JSONValue?, _ field: String) throws -> [String] {
            guard let v else { return [] }
            guard case .array(let items) = v else { throw fail("\(field) must be an array of strings") }
            return try items.map {
                guard let s = $0.stringValue else { throw fail("\(field) must be an array of strings") }
                return s
            }
        }
        let env = predicate["environment"]
        self.releaseName = predicate["release"]?["name"]?.stringValue ?? ""
        self.releaseVersion = predicate["release"]?["version"]?.stringValue ?? ""
        self.manifestSHA256 = digest
        self.reproduced = reproduced
        self.differences = try strings(predicate["result"]?["differences"], "predicate.result.differences")
        self.environment = Environment(
            enclavekitVersion: env?["enclavekitVersion"]?.stringValue ?? "", kernel: env?["kernel"]?.stringValue ?? "",
            bubblewrap: env?["bubblewrap"]?.stringValue ?? "", cpu: env?["cpu"]?.stringValue ?? "",
            variations: try strings(env?["variations"], "predicate.environment.variations"),
            stepCacheReused: env?["stepCache"]?.stringValue == "reused",
            cachedSteps: try strings(env?["cachedSteps"], "predicate.environment.cachedSteps"))
        self.environment.variationsBreaking = try strings(
            env?["variationsBreaking"], "predicate.environment.variationsBreaking")
        guard let time = predicate["time"]?.stringValue, ReproductionAttestation.isRFC3339UTC(time) else {
            throw fail("predicate.time must be an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)")
        }
        self.time = time
    }
}

extension ReproductionAttestation {
    /// Signs the attestation with `key` and writes the envelope to `path` atomically, refusing to replace
    /// a file that is already there (an attestation is evidence: it is never overwritten silently).
    ///
    /// ```swift
    /// try attestation.write(signedWith: key, to: "out/rebuild/reproduction.dsse.json")
    /// ```
    @discardableResult
    public func write(signedWith key: SigningKey, to path: String) throws -> DSSEEnvelope {
        try ReproductionAttestation.refuseExisting(path)
        let envelope = try envelope(signedWith: key)
        try AtomicOutput.write(envelope.fileBytes, to: path)
        return envelope
    }

    /// Throws when `path` exists, naming it and saying what to do.
    public static func refuseExisting(_ path: String) throws {
        guard FileStatus(path) == nil else {
            throw ReleaseError(
                .attestationExists, "\(path) already exists; a reproduction attestation is never replaced")
        }
    }
}
