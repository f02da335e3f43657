import EnclaveCore

/// The release manifest, schema v1 (documented in `Manifests/README.md`): what a release is made of
/// (recipe, lock, every input), what it produced (every artifact with its size and sha256) and what
/// the hardware will report for it (every measurement per target, with the settings they depend on).
///
/// `build` writes it unsigned as canonical JSON (``canonicalBytes``); `sign` wraps it as the predicate
/// of an in-toto Statement. Reading is strict: unknown fields, missing fields, bad hex and an unknown
/// `schemaVersion` are errors that name the field.
///
/// ```swift
/// let manifest = try ReleaseManifest(json: bytes, format: "example-node-1.0.0.json")
/// manifest.targets.first?.measurements.first  // ("PCR0", "65956609…")
/// ```
public struct ReleaseManifest: Sendable, Equatable {
    /// The schema version this EnclaveKit writes and reads.
    public static let schemaVersion = 1

    /// A file in the source tree, pinned by digest.
    public struct FileReference: Sendable, Equatable {
        /// Path relative to the repository root, `/`-separated.
        public var path: String
        public var sha256: String
        public init(path: String, sha256: String) {
            self.path = path
            self.sha256 = sha256
        }
    }

    /// Where the source tree came from, so `rebuild` can check it out.
    public struct Source: Sendable, Equatable {
        /// A clone URL, e.g. `https://github.com/org/repo.git`.
        public var repository: String
        /// The full git commit id (40 or 64 hex digits).
        public var commit: String
        public init(repository: String, commit: String) {
            self.repository = repository
            self.commit = commit
        }
    }

    /// One pinned input of the build.
    public struct Input: Sendable, Equatable {
        public var name: String
        /// How it is resolved: `path`, `debian`, `pypi`, `url`, `oci`, `docker-archive` (lowercase word).
        public var kind: String
        /// Where it came from: a repository path, `name=version`, `name==version`, a URL, an image reference.
        public var source: String
        public var sha256: String
        public init(name: String, kind: String, source: String, sha256: String) {
            self.name = name
            self.kind = kind
            self.source = source
            self.sha256 = sha256
        }
    }

    /// One Debian environment the build assembled (a step's `environment` or `[rootfs] base`).
    public struct Environment: Sendable, Equatable {
        /// The recipe's environment name.
        public var name: String
        /// sha256 of the environment's canonical archive.
        public var sha256: String
        /// How many packages its locked closure holds.
        public var packageCount: UInt64
        public init(name: String, sha256: String, packageCount: UInt64) {
            self.name = name
            self.sha256 = sha256
            self.packageCount = packageCount
        }
    }

    /// One output file; these become the in-toto Statement's subjects.
    public struct Artifact: Sendable, Equatable {
        /// A relative file name (the output directory's layout), unique in the manifest.
        public var name: String
        public var size: UInt64
        public var sha256: String
        public init(name: String, size: UInt64, sha256: String) {
            self.name = name
            self.size = size
            self.sha256 = sha256
        }
    }

    /// The TEE platforms and the registers each reports.
    public enum Platform: String, Sendable, CaseIterable {
        case nitro
        case tdx
        case sevSNP = "sev-snp"
        case sgx

        /// Measurement names: required first, then optional, with their digest size in bytes.
        public var registers: [(name: String, bytes: Int, required: Bool)] {
            switch self {
            case .nitro:
                [("PCR0", 48, true), ("PCR1", 48, true), ("PCR2", 48, true), ("PCR8", 48, false)]
            case .tdx:
                [
                    ("MRTD", 48, true), ("RTMR1", 48, true), ("RTMR2", 48, true), ("RTMR3", 48, true),
                    // RTMR0 covers the VMM's ACPI tables: present only when the recipe gives them.
                    ("RTMR0", 48, false),
                ]
            case .sevSNP: [("MEASUREMENT", 48, true)]
            case .sgx: [("MRENCLAVE", 32, true), ("MRSIGNER", 32, true)]
            }
        }
    }

    /// One target's measurements and the settings they depend on.
    public struct Target: Sendable, Equatable {
        /// The recipe's target name (e.g. `nitro`, `tdx-2g`).
        public var name: String
        public var platform: Platform
        /// Names of the artifacts this target's measurements cover.
        public var artifacts: [String]
        /// Register name → lowercase hex, e.g. `("PCR0", "…")`.
        public var measurements: [(String, String)]
        /// What the measurements depend on besides the artifacts: memory, vCPUs, VMM and its version,
        /// firmware, SGX signing fields… A JSON object; the keys are platform-specific and documented.
        public var settings: JSONValue

        public init(
            name: String, platform: Platform, artifacts: [String], measurements: [(String, String)],
            settings: JSONValue = .object([])
        ) {
            self.name = name
            self.platform = platform
            self.artifacts = artifacts
            self.measurements = measurements
            self.settings = settings
        }

        public func measurement(_ name: String) -> String? { measurements.first { $0.0 == name }?.1 }

        public static func == (a: Target, b: Target) -> Bool {
            a.name == b.name && a.platform == b.platform && a.artifacts == b.artifacts
                && a.measurements.elementsEqual(b.measurements, by: { $0 == $1 }) && a.settings == b.settings
        }
    }

    public var name: String
    public var version: String
    public var enclavekitVersion: String
    public var sourceDateEpoch: UInt64
    public var source: Source?
    public var recipe: FileReference
    public var lock: FileReference
    public var inputs: [Input]
    /// The environments the build used, by name; empty (and then absent from the JSON) for a recipe
    /// without `[environments]`.
    public var environments: [Environment]
    public var artifacts: [Artifact]
    public var targets: [Target]

    public init(
        name: String, version: String, enclavekitVersion: String = EnclaveKitVersion.string, sourceDateEpoch: UInt64,
        source: Source? = nil, recipe: FileReference, lock: FileReference, inputs: [Input],
        environments: [Environment] = [], artifacts: [Artifact], targets: [Target]
    ) {
        self.name = name
        self.version = version
        self.enclavekitVersion = enclavekitVersion
        self.sourceDateEpoch = sourceDateEpoch
        self.source = source
        self.recipe = recipe
        self.lock = lock
        self.inputs = inputs
        self.environments = environments
        self.artifacts = artifacts
        self.targets = targets
    }
}
