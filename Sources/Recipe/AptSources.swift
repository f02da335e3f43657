import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The host's apt sources (sources.list(5)): deb822 `*.sources` stanzas and one-line `*.list` entries
/// under `/etc/apt`, or the file `ENCLAVEKIT_APT_SOURCES` names. The one reader of them: environments
/// resolve a suite against the sources for `SUITE`, `SUITE-updates` and `SUITE-security` and fetch a
/// locked `.deb` from the source whose URI ends in the package's archive name (`debian`,
/// `debian-security`); `debian-source` inputs turn the same entries into `deb-src` stanzas. Only `deb`
/// entries count; `Enabled: no` stanzas are skipped. A line or stanza apt would refuse is an error that
/// names the file and line.
///
/// ```swift
/// let sources = try AptSources.host()
/// let bookworm = sources.entries(forSuite: "bookworm")     // what apt resolves against
/// let base = sources.baseURI(forArchive: "debian-security")  // http://debian.mirror.example/debian-security
/// ```
public struct AptSources: Sendable, Hashable {
    /// One suite of one URI (a deb822 stanza with several URIs or suites gives several entries).
    public struct Entry: Sendable, Hashable {
        public var uri: String
        public var suite: String
        public var components: [String]
        /// `Signed-By` (a keyring path or an inline key, as written), if any.
        public var signedBy: String?
        /// `Trusted: yes` / `[trusted=yes]`.
        public var trusted: Bool

        public init(uri: String, suite: String, components: [String], signedBy: String? = nil, trusted: Bool = false) {
            self.uri = uri
            self.suite = suite
            self.components = components
            self.signedBy = signedBy
            self.trusted = trusted
        }

        /// The URI without trailing slashes.
        public var base: String {
            var text = uri
            while text.hasSuffix("/") { text.removeLast() }
            return text
        }

        /// The last path component of the URI: `debian` for `http://debian.mirror.example/debian/`.
        public var archive: String {
            String(base.split(separator: "/").last ?? "")
        }

        /// This entry as one deb822 stanza of `type` (`deb` or `deb-src`), ending in a blank line.
        public func stanza(type: String = "deb") -> String {
            var out = "Types: \(type)\nURIs: \(uri)\nSuites: \(suite)\n"
            if !components.isEmpty { out += "Components: \(components.joined(separator: " "))\n" }
            if let signedBy { out += "Signed-By: \(signedBy)\n" }
            if trusted { out += "Trusted: yes\n" }
            return out + "\n"
        }
    }

    public var entries: [Entry]
    /// The files read, for messages.
    public var files: [String]

    public init(entries: [Entry], files: [String] = []) {
        self.entries = entries
        self.files = files
    }

    /// The sources for `suite`, `suite-updates` and `suite-security` (the archives an environment of that
    /// suite is resolved against), in the order found.
    public func entries(forSuite suite: String) -> [Entry] {
        let family: Set<String> = [suite, suite + "-updates", suite + "-security"]
        var seen = Set<Entry>()
        return entries.filter { family.contains($0.suite) && seen.insert($0).inserted }
    }

    /// The base URI of the first source whose archive name (last path component) is `archive`.
    public func baseURI(forArchive archive: String) -> String? {
        entries.first { $0.archive == archive }?.base
    }

    /// `entries` as one deb822 file for a private apt configuration.
    public static func deb822(_ entries: [Entry], type: String = "deb") -> String {
        entries.map { $0.stanza(type: type) }.joined()
    }

    // MARK: - Reading

    /// The host's sources: `ENCLAVEKIT_APT_SOURCES` (one file) when set, else `/etc/apt/sources.list`,
    /// `/etc/apt/sources.list.d/*.list` and `*.sources` (names sorted). With `environment`, the variable
    /// is looked up there only; without, in this process's environment.
    public static func host(environment: [String: String]? = nil, root: String = "/etc/apt") throws -> AptSources {
        let override =
            environment.map { $0["ENCLAVEKIT_APT_SOURCES"] }
            ?? getenv("ENCLAVEKIT_APT_SOURCES").map {
                String(cString: $0)
            }
        if let override, !override.isEmpty {
            return try load(files: [override])
        }
        var files: [String] = []
        if FileStatus(root + "/sources.list")?.type == .regular { files.append(root + "/sources.list") }
        let directory = root + "/sources.list.d"
        if FileStatus.isDirectory(directory) {
            for name in try FileTree.sortedNames(directory) {
                let text = String(decoding: name, as: UTF8.self)
                guard text.hasSuffix(".list") || text.hasSuffix(".sources") else { continue }
                files.append(directory + "/" + text)
            }
        }
        return try load(files: files)
    }

    /// Reads the given files: deb822 when a file's name ends in `.sources` or its first field line is a
    /// `Types:` field, one-line format otherwise.
    public static func load(files: [String]) throws -> AptSources {
        var entries: [Entry] = []
        for file in files {
            let bytes: [UInt8]
            do {
                bytes = try FileInput(path: file).readAll(limit: 4 << 20, format: "apt sources")
            } catch {
                throw RecipeError(.io, file: file, "cannot read the apt sources: \(error)")
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if file.hasSuffix(".sources") || isDeb822(text) {
                entries += try parseDeb822(text, file: file)
            } else {
                entries += try parseOneLine(text, file: file)
            }
        }
        return AptSources(entries: entries, files: files)
    }

    static func isDeb822(_ text: String) -> Bool {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.drop { isBlank($0) }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            return trimmed.lowercased().hasPrefix("types:")
        }
        return false
    }

    /// deb822 stanzas (sources.list(5) "DEB822-STYLE FORMAT"): `Field: value`, continuation lines start
    /// with a space or tab, `#` lines are comments, stanzas are separated by blank lines. A `deb` stanza
    /// needs `URIs`, `Suites` and, unless its suites are exact paths (ending in `/`), `Components`.
    public static func parseDeb822(_ text: String, file: String) throws -> [Entry] {
        var entries: [Entry] = []
        var fields: [String: String] = [:]
        var current: String?
        var stanzaLine = 0
        func flush() throws {
            defer {
                fields = [:]
                current = nil
            }
            guard !fields.isEmpty else { return }
            func bad(_ message: String) -> RecipeError {
                RecipeError(.badValue, file: file, line: stanzaLine, message)
            }
            if let enabled = fields["enabled"], enabled.lowercased() == "no" { return }
            guard let types = fields["types"] else { throw bad("a stanza without a Types field") }
            guard types.split(whereSeparator: \.isWhitespace).contains("deb") else { return }
            guard let uris = fields["uris"], let suites = fields["suites"] else {
                throw bad("a deb stanza without URIs or Suites")
            }
            let components = (fields["components"] ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
            let trusted = fields["trusted"]?.lowercased() == "yes"
            for uri in uris.split(whereSeparator: \.isWhitespace) {
                for suite in suites.split(whereSeparator: \.isWhitespace) {
                    try checkComponents(components, suite: suite) { bad($0) }
                    entries.append(
                        Entry(
                            uri: String(uri), suite: String(suite), components: components,
                            signedBy: fields["signed-by"], trusted: trusted))
                }
            }
        }
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.hasPrefix("#") { continue }
            if line.allSatisfy(isBlank) {
                try flush()
                continue
            }
            if let first = line.first, isBlank(first) {
                guard let key = current, let value = fields[key] else {
                    throw RecipeError(.badValue, file: file, line: index + 1, "a continuation line outside a field")
                }
                fields[key] = value + "\n " + line.drop(while: isBlank)
                continue
            }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                !line[..<colon].contains(where: \.isWhitespace)
            else {
                throw RecipeError(.badValue, file: file, line: index + 1, "expected 'Field: value'")
            }
            if fields.isEmpty { stanzaLine = index + 1 }
            let key = line[..<colon].lowercased()
            guard fields[key] == nil else {
                throw RecipeError(.badValue, file: file, line: index + 1, "field '\(line[..<colon])' appears twice")
            }
            fields[key] = trimmed(line[line.index(after: colon)...])
            current = key
        }
        try flush()
        return entries
    }

    /// One-line entries: `deb [option=value …] URI SUITE COMPONENT…` (no component when SUITE is an
    /// exact path ending in `/`); `deb-src` entries and comments are skipped, any other type is an error.
    public static func parseOneLine(_ text: String, file: String) throws -> [Entry] {
        var entries: [Entry] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            func bad(_ message: String) -> RecipeError {
                RecipeError(.badValue, file: file, line: index + 1, message)
            }
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            var words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let type = words.first else { continue }
            guard type == "deb" || type == "deb-src" else {
                throw bad("expected 'deb URI SUITE COMPONENT…', got '\(type)'")
            }
            words.removeFirst()
            var options: [String: String] = [:]
            if let first = words.first, first.hasPrefix("[") {
                var optionWords: [String] = []
                while let word = words.first {
                    words.removeFirst()
                    optionWords.append(word)
                    if word.hasSuffix("]") { break }
                }
                guard optionWords.last?.hasSuffix("]") == true else {
                    throw bad("the options '[' are not closed by ']'")
                }
                let joined = optionWords.joined(separator: " ").dropFirst().dropLast()
                for option in joined.split(whereSeparator: \.isWhitespace) {
                    let pair = option.split(separator: "=", maxSplits: 1)
                    guard pair.count == 2 else { throw bad("the option '\(option)' is not 'name=value'") }
                    options[pair[0].lowercased()] = String(pair[1])
                }
            }
            guard words.count >= 2 else { throw bad("expected '\(type) URI SUITE COMPONENT…'") }
            let components = Array(words.dropFirst(2))
            try checkComponents(components, suite: words[1]) { bad($0) }
            guard type == "deb" else { continue }
            entries.append(
                Entry(
                    uri: words[0], suite: words[1], components: components, signedBy: options["signed-by"],
                    trusted: options["trusted"] == "yes"))
        }
        return entries
    }

    /// sources.list(5): a suite that is an exact path (ends in `/`) takes no components; any other suite
    /// needs at least one.
    private static func checkComponents(
        _ components: [String], suite: some StringProtocol, _ bad: (String) -> RecipeError
    ) throws {
        if suite.hasSuffix("/") {
            guard components.isEmpty else { throw bad("the suite '\(suite)' is an exact path and takes no components") }
        } else {
            guard !components.isEmpty else { throw bad("the suite '\(suite)' has no components (e.g. main)") }
        }
    }

    private static func isBlank(_ character: Character) -> Bool { character == " " || character == "\t" }

    private static func trimmed(_ text: Substring) -> String {
        String(text.drop(while: isBlank).reversed().drop(while: isBlank).reversed())
    }
}
