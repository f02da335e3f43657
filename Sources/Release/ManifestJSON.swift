import EnclaveCore

extension ReleaseManifest {
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
