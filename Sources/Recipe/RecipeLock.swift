import EnclaveCore

/// The lock file, `recipe.lock` next to the recipe (`Recipes/README.md`, "The lock file"):
/// `{"inputs": {"NAME": {"kind": …, "sha256": …, "source": …}}, "lock": 1}`, pretty printed with keys
/// sorted. An entry pins an input only while the input's `kind` and `source` are unchanged; a pin in the
/// recipe wins over the lock.
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

        public init(kind: InputKind, source: String, sha256: String) {
            self.kind = kind
            self.source = source
            self.sha256 = sha256
        }
    }

    public static let formatVersion = 1
    /// Entries by input name.
    public var entries: [String: Entry]

    public init(entries: [String: Entry] = [:]) { self.entries = entries }

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
        for (key, _) in top where key != "lock" && key != "inputs" {
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
            guard case .object(let fields) = entryValue else { throw fail("\(here) must be an object") }
            for (key, _) in fields where !["kind", "source", "sha256"].contains(key) {
                throw fail(.unknownKey, "\(here): unknown key '\(key)'")
            }
            func string(_ key: String) throws -> String {
                guard let v = entryValue[key] else { throw fail(.missingKey, "\(here): missing '\(key)'") }
                guard let s = v.stringValue else { throw fail("\(here).\(key) must be a string") }
                return s
            }
            let kindText = try string("kind")
            guard let kind = InputKind(rawValue: kindText) else {
                throw fail("\(here).kind '\(kindText)' is not an input kind")
            }
            let source = try string("source")
            let sha256 = try string("sha256")
            guard RecipeParser.isSHA256(sha256) else {
                throw fail("\(here).sha256 '\(sha256)' is not 64 lowercase hex digits")
            }
            entries[name] = Entry(kind: kind, source: source, sha256: sha256)
        }
        self.entries = entries
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
                    .object([
                        ("kind", .string(entry.kind.rawValue)), ("sha256", .string(entry.sha256)),
                        ("source", .string(entry.source)),
                    ])
                )
            }
        }
        return JSONValue.object([("inputs", .object(inputs)), ("lock", .int(Self.formatVersion))])
            .serialized(style: .pretty) + "\n"
    }

    /// Writes the lock to `path` atomically (whole or not at all), mode 0644.
    public func save(path: String) throws {
        try AtomicOutput.write(Array(json.utf8), to: path, mode: 0o644)
    }
}
