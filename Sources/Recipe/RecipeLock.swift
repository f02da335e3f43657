import EnclaveCore

/// The lock file, `recipe.lock` next to the recipe (`Recipes/README.md`, "The lock file"):
/// `{"inputs": {"NAME": {"kind": …, "sha256": …, "source": …}}, "lock": 1}`, pretty printed with keys
/// sorted. An entry pins an input only while the input's `kind` and `source` are unchanged; a pin in the
/// recipe wins over the lock. A directory `path` input's entry also lists its files (`"files"`: the
/// lines of its ``TreeDigest`` listing, `TYPE MODE SIZE SHA256 PATH`), so that a rebuild from a changed
/// tree can name the files that changed; the listing must hash to the entry's `sha256`. The key is
/// optional: locks written before it existed stay valid (and keep their bytes until locked again).
/// `"environments": {"NAME": …}` (optional, written only when the recipe has environments) holds each
/// Debian environment's closure (``EnvironmentLock``).
///
/// ```swift
/// let lock = try RecipeLock.loadIfPresent(path: recipe.lockPath)
/// let pin = lock.pin(for: zig)   // the recipe's sha256, else the lock's when kind and source match
/// ```
public struct RecipeLock: Sendable, Hashable {
    /// One pinned input.
    public struct Entry: Sendable, Hashable {
        public var kind: InputKind
        public var source: String
        public var sha256: String
        /// A directory's listing, whose tree digest is ``sha256`` (nil when not recorded).
        public var files: [TreeDigest.Entry]?

        public init(kind: InputKind, source: String, sha256: String, files: [TreeDigest.Entry]? = nil) {
            self.kind = kind
            self.source = source
            self.sha256 = sha256
            self.files = files
        }
    }

    public static let formatVersion = 1
    /// Entries by input name.
    public var entries: [String: Entry]
    /// Debian environments' closures by environment name.
    public var environments: [String: EnvironmentLock]

    public init(entries: [String: Entry] = [:], environments: [String: EnvironmentLock] = [:]) {
        self.entries = entries
        self.environments = environments
    }

    /// The lock entry of `environment` when it still holds (same suite, variant, arch and packages).
    public func environmentLock(for environment: RecipeEnvironment) -> EnvironmentLock? {
        guard let entry = environments[environment.name], entry.holds(for: environment) else { return nil }
        return entry
    }

    /// The pin of `input`: the recipe's `sha256`, else this lock's entry when its kind and source match.
    public func pin(for input: RecipeInput) -> String? {
        if let pin = input.sha256 { return pin }
        guard let entry = entries[input.name], entry.kind == input.kind, entry.source == input.source else {
            return nil
        }
        return entry.sha256
    }

    /// Parses lock JSON strictly: exactly the keys above, `lock` = 1, valid names, kinds and digests.
    public init(json bytes: [UInt8], file: String) throws {
        let value: JSONValue
        do {
            value = try JSONParser.parse(
                bytes, format: "lock", limits: JSONParser.Limits(maxDepth: 8, maxBytes: 16 << 20))
        } catch {
            throw RecipeError(.syntax, file: file, "not valid JSON: \(error.description)")
        }
        func fail(_ message: String) -> RecipeError { RecipeError(.badValue, file: file, message) }
        func fail(_ kind: RecipeError.Kind, _ message: String) -> RecipeError { RecipeError(kind, file: file, message) }
        guard case .object(let top) = value else { throw fail("expected a JSON object {\"inputs\": …, \"lock\": 1}") }
        for (key, _) in top where key != "lock" && key != "inputs" && key != "environments" {
            throw fail(.unknownKey, "unknown key '\(key)'")
        }
        guard let version = value["lock"] else { throw fail(.missingKey, "missing 'lock' (the format version, 1)") }
        guard version == .number("1") else {
            throw fail("'lock' is \(version.serialized()); this EnclaveKit reads lock format 1")
        }
        guard let inputs = value["inputs"] else { throw fail(.missingKey, "missing 'inputs'") }
        guard case .object(let pairs) = inputs else { throw fail("'inputs' must be an object of input names") }
        var entries: [String: Entry] = [:]
        for (name, entryValue) in pairs {
            let here = "inputs.\(name)"
            guard RecipeParser.isValidName(name) else {
                throw fail("input name '\(name)' is not valid: use [a-z0-9][a-z0-9._-]*")
            }
            let string = try LockObject(entryValue, at: here, file: file, known: ["kind", "source", "sha256", "files"])
                .string
            let kindText = try string("kind")
            guard let kind = InputKind(rawValue: kindText) else {
                throw fail("\(here).kind '\(kindText)' is not an input kind")
            }
            let source = try string("source")
            let sha256 = try string("sha256")
            guard RecipeParser.isSHA256(sha256) else {
                throw fail("\(here).sha256 '\(sha256)' is not 64 lowercase hex digits")
            }
            var files: [TreeDigest.Entry]?
            if let listing = entryValue["files"] {
                guard case .array(let lines) = listing else {
                    throw fail("\(here).files must be an array of listing lines (TYPE MODE SIZE SHA256 PATH)")
                }
                var parsed: [TreeDigest.Entry] = []
                for (index, line) in lines.enumerated() {
                    guard let text = line.stringValue, let entry = TreeDigest.Entry(line: Array(text.utf8)) else {
                        throw fail("\(here).files[\(index)] is not a listing line (TYPE MODE SIZE SHA256 PATH)")
                    }
                    parsed.append(entry)
                }
                guard TreeDigest.digest(of: parsed) == sha256 else {
                    throw fail(
                        "\(here).files does not hash to its sha256 \(sha256) (edited by hand?): run enclavekit lock "
                            + "on the recipe to write it again")
                }
                files = parsed
            }
            entries[name] = Entry(kind: kind, source: source, sha256: sha256, files: files)
        }
        self.entries = entries
        var environments: [String: EnvironmentLock] = [:]
        if let value = value["environments"] {
            guard case .object(let pairs) = value else {
                throw fail("'environments' must be an object of environment names")
            }
            for (name, entry) in pairs {
                guard RecipeParser.isEnvironmentName(name) else {
                    throw fail("environment name '\(name)' is not valid: use [A-Za-z_][A-Za-z0-9_]*")
                }
                environments[name] = try EnvironmentLock(json: entry, name: name, file: file)
            }
        }
        self.environments = environments
    }

    /// Reads `path`.
    public static func load(path: String) throws -> RecipeLock {
        try RecipeLock(json: try FileSystem.readFile(path, limit: 16 << 20), file: path)
    }

    /// Reads `path`, or returns an empty lock when there is no such file.
    public static func loadIfPresent(path: String) throws -> RecipeLock {
        guard FileStatus(path) != nil else { return RecipeLock() }
        return try load(path: path)
    }

    /// The lock as JSON: keys sorted at every level, two-space indent, a final newline.
    public var json: String {
        let names = entries.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let inputs: [(String, JSONValue)] = names.compactMap { name in
            entries[name].map { entry in
                (
                    name,
                    .object(
                        (entry.files.map { [("files", Self.listingJSON($0))] } ?? []) + [
                            ("kind", .string(entry.kind.rawValue)), ("sha256", .string(entry.sha256)),
                            ("source", .string(entry.source)),
                        ])
                )
            }
        }
        let environmentNames = environments.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let environmentValues: [(String, JSONValue)] = environmentNames.compactMap { name in
            environments[name].map { (name, $0.jsonValue) }
        }
        return JSONValue.object(
            (environmentValues.isEmpty ? [] : [("environments", .object(environmentValues))]) + [
                ("inputs", .object(inputs)), ("lock", .int(Self.formatVersion)),
            ]
        )
        .serialized(style: .pretty) + "\n"
    }

    /// A listing as JSON strings, one per line without its newline.
    static func listingJSON(_ entries: [TreeDigest.Entry]) -> JSONValue {
        .array(entries.map { .string(String(decoding: $0.line.dropLast(), as: UTF8.self)) })
    }

    /// The listing as the lock can record it: nil when a path is not valid UTF-8 (JSON text could not
    /// carry its bytes).
    public static func recordable(_ entries: [TreeDigest.Entry]?) -> [TreeDigest.Entry]? {
        guard let entries else { return nil }
        for entry in entries where String(validating: entry.path, as: UTF8.self) == nil { return nil }
        return entries
    }

    /// Writes the lock to `path` atomically (whole or not at all), mode 0644.
    public func save(path: String) throws {
        try AtomicOutput.write(Array(json.utf8), to: path, mode: 0o644)
    }
}
