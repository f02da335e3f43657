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

    // MARK: JSON

    /// The manifest as JSON (field order as documented; ``canonicalBytes`` sorts it).
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("schemaVersion", .int(ReleaseManifest.schemaVersion)),
            ("name", .string(name)),
            ("version", .string(version)),
            ("enclavekitVersion", .string(enclavekitVersion)),
            ("sourceDateEpoch", .int(sourceDateEpoch)),
        ]
        if let source {
            fields.append(
                ("source", .object([("repository", .string(source.repository)), ("commit", .string(source.commit))])))
        }
        fields += [
            ("recipe", .object([("path", .string(recipe.path)), ("sha256", .string(recipe.sha256))])),
            ("lock", .object([("path", .string(lock.path)), ("sha256", .string(lock.sha256))])),
            (
                "inputs",
                .array(
                    inputs.map {
                        .object([
                            ("name", .string($0.name)), ("kind", .string($0.kind)), ("source", .string($0.source)),
                            ("sha256", .string($0.sha256)),
                        ])
                    })
            ),
        ]
        if !environments.isEmpty {
            fields.append(
                (
                    "environments",
                    .array(
                        environments.map {
                            .object([
                                ("name", .string($0.name)), ("sha256", .string($0.sha256)),
                                ("packageCount", .int($0.packageCount)),
                            ])
                        })
                ))
        }
        fields += [
            (
                "artifacts",
                .array(
                    artifacts.map {
                        .object([("name", .string($0.name)), ("size", .int($0.size)), ("sha256", .string($0.sha256))])
                    })
            ),
            (
                "targets",
                .array(
                    targets.map { t in
                        .object([
                            ("name", .string(t.name)), ("platform", .string(t.platform.rawValue)),
                            ("artifacts", .array(t.artifacts.map { .string($0) })),
                            ("measurements", .object(t.measurements.map { ($0.0, .string($0.1)) })),
                            ("settings", t.settings),
                        ])
                    })
            ),
        ]
        return .object(fields)
    }

    /// Canonical JSON (keys sorted by UTF-8 bytes, no whitespace) plus a newline: the same manifest
    /// always gives the same bytes.
    public var canonicalBytes: [UInt8] { Array((json.serialized(style: .canonical) + "\n").utf8) }

    /// Checks a manifest built in Swift against schema v1 (hex lengths, paths, names, registers) by
    /// reading its canonical bytes back; throws the same errors a reader would.
    public func validate() throws {
        let reread = try ReleaseManifest(json: canonicalBytes, format: "manifest \(name) \(version)")
        guard reread.canonicalBytes == canonicalBytes else {
            throw ReleaseError(.manifest, "the manifest does not survive a write/read round trip (unknown register?)")
        }
    }

    /// Validates, then writes ``canonicalBytes`` to `path` atomically (no partial file on failure).
    public func write(to path: String) throws {
        try validate()
        try AtomicOutput.write(canonicalBytes, to: path)
    }

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

    /// The Statement subjects: every artifact with its sha256.
    public var subjects: [Statement.Subject] {
        artifacts.map { Statement.Subject(name: $0.name, digest: [("sha256", $0.sha256)]) }
    }

    /// Parses and validates a manifest document.
    public init(json bytes: [UInt8], format: String) throws {
        try self.init(value: try JSONParser.parse(bytes, format: format), format: format)
    }

    /// Validates parsed JSON against schema v1.
    public init(value: JSONValue, format: String) throws {
        var r = ObjectReader(value, path: "manifest", format: format)
        guard case .object = value else { throw r.error("the manifest must be a JSON object") }
        let version = try r.integer("schemaVersion")
        guard version == UInt64(ReleaseManifest.schemaVersion) else {
            throw ReleaseError(
                .schemaVersion,
                "manifest schemaVersion \(version) is not supported (this EnclaveKit \(EnclaveKitVersion.string) reads "
                    + "version \(ReleaseManifest.schemaVersion)); upgrade EnclaveKit",
                file: format)
        }
        name = try r.nonEmptyString("name")
        self.version = try r.nonEmptyString("version")
        enclavekitVersion = try r.nonEmptyString("enclavekitVersion")
        sourceDateEpoch = try r.integer("sourceDateEpoch")
        if r.has("source") {
            var s = try r.object("source")
            source = Source(
                repository: try s.nonEmptyString("repository"), commit: try s.hex("commit", sizes: [20, 32]))
            try s.finish()
        } else {
            source = nil
        }
        var rec = try r.object("recipe")
        recipe = FileReference(path: try rec.relativePath("path"), sha256: try rec.hex("sha256", sizes: [32]))
        try rec.finish()
        var lk = try r.object("lock")
        lock = FileReference(path: try lk.relativePath("path"), sha256: try lk.hex("sha256", sizes: [32]))
        try lk.finish()

        inputs = []
        var inputNames = Set<String>()
        for var item in try r.array("inputs") {
            let input = Input(
                name: try item.nonEmptyString("name"), kind: try item.kind("kind"),
                source: try item.nonEmptyString("source"),
                sha256: try item.hex("sha256", sizes: [32]))
            try item.finish()
            guard inputNames.insert(input.name).inserted else {
                throw item.error("duplicate input name '\(input.name)'")
            }
            inputs.append(input)
        }

        environments = []
        if r.has("environments") {
            var environmentNames = Set<String>()
            for var item in try r.array("environments") {
                let environment = Environment(
                    name: try item.nonEmptyString("name"), sha256: try item.hex("sha256", sizes: [32]),
                    packageCount: try item.integer("packageCount"))
                try item.finish()
                guard environmentNames.insert(environment.name).inserted else {
                    throw item.error("duplicate environment name '\(environment.name)'")
                }
                environments.append(environment)
            }
            guard !environments.isEmpty else {
                throw r.error("'environments' is empty; leave it out when the build used no environment")
            }
        }

        artifacts = []
        var artifactNames = Set<String>()
        for var item in try r.array("artifacts") {
            let artifact = Artifact(
                name: try item.relativePath("name"), size: try item.integer("size"),
                sha256: try item.hex("sha256", sizes: [32]))
            try item.finish()
            guard artifactNames.insert(artifact.name).inserted else {
                throw item.error("duplicate artifact name '\(artifact.name)'")
            }
            artifacts.append(artifact)
        }
        guard !artifacts.isEmpty else { throw r.error("'artifacts' is empty; a release has at least one artifact") }

        targets = []
        var targetNames = Set<String>()
        for var item in try r.array("targets") {
            let name = try item.nonEmptyString("name")
            let platformName = try item.nonEmptyString("platform")
            guard let platform = Platform(rawValue: platformName) else {
                throw item.error(
                    "unknown platform '\(platformName)' (expected one of: "
                        + Platform.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            var names: [String] = []
            for case let (i, v) in try item.rawArray("artifacts").enumerated() {
                guard let s = v.stringValue, artifactNames.contains(s) else {
                    throw item.error("artifacts[\(i)] must name an artifact listed in 'artifacts'")
                }
                names.append(s)
            }
            var m = try item.object("measurements")
            var measurements: [(String, String)] = []
            for register in platform.registers where register.required || m.has(register.name) {
                measurements.append((register.name, try m.hex(register.name, sizes: [register.bytes])))
            }
            try m.finish(
                hint: "\(platform.rawValue) measurements are " + platform.registers.map(\.name).joined(separator: ", "))
            let settings = try item.anyObject("settings")
            try item.finish()
            guard targetNames.insert(name).inserted else { throw item.error("duplicate target name '\(name)'") }
            targets.append(
                Target(name: name, platform: platform, artifacts: names, measurements: measurements, settings: settings)
            )
        }
        try r.finish()
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

/// Reads fields of one JSON object, remembering which were used so unknown fields are errors, and
/// naming the field path (`manifest.targets[0].measurements.PCR0`) in every error.
struct ObjectReader {
    let value: JSONValue
    let path: String
    let format: String
    var used = Set<String>()

    init(_ value: JSONValue, path: String, format: String) {
        self.value = value
        self.path = path
        self.format = format
    }

    func error(_ message: String) -> ReleaseError { ReleaseError(.manifest, "\(path): \(message)", file: format) }

    func has(_ key: String) -> Bool { value[key] != nil }

    mutating func field(_ key: String) throws -> JSONValue {
        guard let v = value[key] else { throw error("missing field '\(key)'") }
        used.insert(key)
        return v
    }

    mutating func string(_ key: String) throws -> String {
        guard let s = try field(key).stringValue else { throw error("'\(key)' must be a string") }
        return s
    }

    mutating func nonEmptyString(_ key: String) throws -> String {
        let s = try string(key)
        guard !s.isEmpty else { throw error("'\(key)' must not be empty") }
        return s
    }

    mutating func integer(_ key: String) throws -> UInt64 {
        guard case .number(let text) = try field(key), let n = UInt64(text) else {
            throw error("'\(key)' must be a non-negative integer")
        }
        return n
    }

    mutating func hex(_ key: String, sizes: [Int]) throws -> String {
        let s = try string(key)
        let utf8 = Array(s.utf8)
        let lowerHex = utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        guard lowerHex, sizes.contains(utf8.count / 2), utf8.count % 2 == 0 else {
            let want = sizes.map { "\($0 * 2)" }.joined(separator: " or ")
            throw error("'\(key)' must be \(want) lowercase hex digits")
        }
        return s
    }

    mutating func kind(_ key: String) throws -> String {
        let s = try nonEmptyString(key)
        guard s.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
            throw error("'\(key)' must be a lowercase word such as path, debian, pypi, url, oci")
        }
        return s
    }

    /// A relative `/`-separated path with no `..`, `.` or empty components.
    mutating func relativePath(_ key: String) throws -> String {
        let s = try nonEmptyString(key)
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard !s.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !s.contains("\\") else {
            throw error("'\(key)' must be a relative path without '.', '..' or empty components")
        }
        return s
    }

    mutating func object(_ key: String) throws -> ObjectReader {
        let v = try field(key)
        guard case .object = v else { throw error("'\(key)' must be an object") }
        return ObjectReader(v, path: "\(path).\(key)", format: format)
    }

    mutating func anyObject(_ key: String) throws -> JSONValue {
        let v = try field(key)
        guard case .object = v else { throw error("'\(key)' must be an object") }
        return v
    }

    mutating func rawArray(_ key: String) throws -> [JSONValue] {
        guard case .array(let items) = try field(key) else { throw error("'\(key)' must be an array") }
        return items
    }

    mutating func array(_ key: String) throws -> [ObjectReader] {
        try rawArray(key).enumerated().map { i, item in
            let r = ObjectReader(item, path: "\(path).\(key)[\(i)]", format: format)
            guard case .object = item else { throw r.error("must be an object") }
            return r
        }
    }

    /// Throws if the object has fields nobody read.
    func finish(hint: String? = nil) throws {
        guard case .object(let pairs) = value else { return }
        if let unknown = pairs.first(where: { !used.contains($0.0) }) {
            throw error("unknown field '\(unknown.0)'" + (hint.map { " (\($0))" } ?? ""))
        }
    }
}
