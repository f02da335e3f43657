import TOML
import TOMLKit

/// Reads recipe TOML into the model and checks every rule of format v1 (`Recipes/README.md`).
struct RecipeParser {
    let file: String

    static let formatVersion = 1

    /// Recipes are read up to this size (``Recipe/load(path:)`` reads no more from disk).
    static let maxBytes = 4 << 20

    func parse(_ text: String) throws -> Recipe {
        let root: TOMLTable
        do {
            root = try TOMLReader.parse(text, what: "recipe", limit: Self.maxBytes)
        } catch {
            throw RecipeError(.syntax, file: file, line: error.line, column: error.column, error.message)
        }
        let top = Fields(root, table: "", file: file)
        try top.allow([
            "recipe", "name", "version", "source-date-epoch", "inputs", "environments", "steps", "rootfs", "targets",
        ])
        guard let format = try top.int("recipe") else {
            throw top.missing("recipe", "the format version, recipe = \(Self.formatVersion)")
        }
        guard format == Self.formatVersion else {
            throw top.bad("recipe", "format version \(format) is not supported; this EnclaveKit reads recipe = 1")
        }
        let name = try top.requiredString("name")
        let version = try top.requiredString("version")
        guard !name.isEmpty, !version.isEmpty else {
            throw top.bad(name.isEmpty ? "name" : "version", "must not be empty")
        }
        guard let epoch = try top.int("source-date-epoch") else {
            throw top.missing("source-date-epoch", "an integer ≥ 0 (seconds since 1970)")
        }
        guard epoch >= 0 else { throw top.bad("source-date-epoch", "must be ≥ 0, got \(epoch)") }

        var inputs: [RecipeInput] = []
        if let table = try top.table("inputs") {
            let inputsFields = Fields(table, table: "[inputs]", file: file)
            for key in try inputsFields.keys() {
                try checkName(key, fields: inputsFields, what: "input")
                guard let sub = try inputsFields.table(key) else { continue }
                inputs.append(try parseInput(name: key, Fields(sub, table: "[inputs.\(key)]", file: file)))
            }
        }
        inputs.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let inputNames = Set(inputs.map(\.name))

        var environments: [RecipeEnvironment] = []
        if let table = try top.table("environments") {
            let environmentFields = Fields(table, table: "[environments]", file: file)
            for key in try environmentFields.keys() {
                try checkName(key, fields: environmentFields, what: "environment")
                guard let sub = try environmentFields.table(key) else { continue }
                environments.append(
                    try parseEnvironment(name: key, Fields(sub, table: "[environments.\(key)]", file: file)))
            }
        }
        environments.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let environmentNames = Set(environments.map(\.name))

        var steps: [RecipeStep] = []
        if let array = try top.array("steps") {
            for index in 0..<array.count {
                let table = "[[steps]] #\(index + 1)"
                guard let sub = array[index].table else {
                    throw RecipeError(.badValue, file: file, table: table, "each [[steps]] entry must be a table")
                }
                let step = try parseStep(
                    Fields(sub, table: table, file: file), inputNames: inputNames, earlier: steps.map(\.name),
                    environments: environmentNames)
                steps.append(step)
            }
        }
        let context = ReferenceContext(inputs: inputs, steps: Set(steps.map(\.name)))

        var rootfs = RootfsSpec()
        if let table = try top.table("rootfs") {
            rootfs = try parseRootfs(
                Fields(table, table: "[rootfs]", file: file), context: context, environments: environmentNames)
        }
        let used = Set(steps.compactMap(\.rootEnvironment) + [rootfs.baseEnvironment].compactMap { $0 })
        for environment in environments where !used.contains(environment.name) {
            throw RecipeError(
                .badValue, file: file, table: "[environments.\(environment.name)]",
                "environment '\(environment.name)' is used by no step (environment = \"\(environment.name)\") and not "
                    + "by [rootfs] (base = \"environment:\(environment.name)\"): use it or remove it")
        }

        var targets: [RecipeTarget] = []
        if let table = try top.table("targets") {
            let targetsFields = Fields(table, table: "[targets]", file: file)
            for key in try targetsFields.keys() {
                try checkName(key, fields: targetsFields, what: "target")
                guard let sub = try targetsFields.table(key) else { continue }
                let settings = try TargetParser(
                    fields: Fields(sub, table: "[targets.\(key)]", file: file), name: key, context: context
                ).parse()
                targets.append(RecipeTarget(name: key, settings: settings))
            }
        }
        targets.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }

        return Recipe(
            path: file, name: name, version: version, sourceDateEpoch: UInt64(epoch), inputs: inputs,
            environments: environments, steps: steps,
            rootfs: rootfs, targets: targets)
    }

    // MARK: - Names

    /// `[a-z0-9][a-z0-9._-]*`.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLowerAlnum(first) else { return false }
        return name.utf8.allSatisfy {
            isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    static func isLowerAlnum(_ c: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
    }

    private func checkName(_ name: String, fields: Fields, what: String) throws {
        guard Self.isValidName(name) else {
            throw RecipeError(
                .badValue, file: file, table: fields.table,
                "\(what) name '\(name)' is not valid: use [a-z0-9][a-z0-9._-]* (lowercase letters, digits, . _ -)")
        }
    }

    // MARK: - Inputs

    static func isHTTPURL(_ text: String) -> Bool {
        for scheme in ["http://", "https://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            return !host.isEmpty && !text.contains(where: { $0.isWhitespace || $0 == "\0" })
        }
        return false
    }

    /// The last path component of an HTTP URL (query and fragment dropped), or nil when it has no path.
    static func urlFileName(_ url: String) -> String? {
        guard let schemeEnd = firstIndex(of: "://", in: url) else { return nil }
        var rest = url[url.index(schemeEnd, offsetBy: 3)...]
        if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<cut] }
        let parts = rest.split(separator: "/")
        guard parts.count > 1, let last = parts.last, last != ".", last != ".." else { return nil }
        return String(last)
    }

    /// `name=version` → (name, version).
    static func splitDebian(_ source: String) -> (String, String) {
        guard let eq = source.firstIndex(of: "=") else { return (source, "") }
        return (String(source[..<eq]), String(source[source.index(after: eq)...]))
    }

    /// `name==version` → (name, version).
    static func splitPyPI(_ source: String) -> (String, String) {
        guard let start = firstIndex(of: "==", in: source) else { return (source, "") }
        return (String(source[..<start]), String(source[source.index(start, offsetBy: 2)...]))
    }

    /// Where `needle` first occurs in `text` (Foundation-free `range(of:)`).
    static func firstIndex(of needle: String, in text: String) -> String.Index? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix(needle) { return index }
            index = text.index(after: index)
        }
        return nil
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64
            && text.utf8.allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }
    }

    private func parseInput(name: String, _ f: Fields) throws -> RecipeInput {
        try f.allow(["kind", "source", "sha256", "unpack", "arch", "file", "url", "suite"])
        let kindText = try f.requiredString("kind")
        guard let kind = InputKind(rawValue: kindText) else {
            throw f.bad(
                "kind",
                "'\(kindText)' is not an input kind; use one of \(Self.list(InputKind.allCases.map(\.rawValue)))")
        }
        let source = try f.requiredString("source")
        guard !source.isEmpty else { throw f.bad("source", "must not be empty") }
        let sha256 = try f.string("sha256")
        if let sha256, !Self.isSHA256(sha256) {
            throw f.bad("sha256", "'\(sha256)' is not a sha256: expected 64 lowercase hex digits")
        }
        var unpack = UnpackMode.none
        if let text = try f.string("unpack") {
            guard let mode = UnpackMode(rawValue: text) else {
                throw f.bad(
                    "unpack",
                    "'\(text)' is not an unpack mode; use one of \(Self.list(UnpackMode.allCases.map(\.rawValue)))")
            }
            unpack = mode
        }
        let arch = try f.string("arch")
        let fileName = try f.string("file")
        let url = try f.string("url")
        let suite = try f.string("suite")
        func only(_ key: String, _ value: String?, _ kinds: [InputKind]) throws {
            if value != nil, !kinds.contains(kind) {
                throw f.bad(key, "is only for \(Self.list(kinds.map(\.rawValue))) inputs, not \(kind.rawValue)")
            }
        }
        try only("arch", arch, [.debian])
        try only("file", fileName, [.pypi])
        try only("url", url, [.debian, .pypi, .dockerArchive, .oci])
        try only("suite", suite, [.debianSource])
        if unpack == .source, kind != .debianSource {
            throw f.bad("unpack", "'source' is only for debian-source inputs, not \(kind.rawValue)")
        }
        if let url, !Self.isHTTPURL(url) {
            throw f.bad("url", "'\(url)' is not an http:// or https:// URL")
        }
        switch kind {
        case .path:
            if unpack != .none {
                throw f.bad("unpack", "path inputs are bind-mounted as they are; remove unpack or set it to \"none\"")
            }
            try checkRecipeRelative(source, f)
        case .debian:
            let (package, version) = Self.splitDebian(source)
            guard Self.isDebianPackage(package), !version.isEmpty, !version.contains(where: { $0 == "=" || $0 == "/" }),
                version.allSatisfy({ !$0.isWhitespace })
            else {
                throw f.bad("source", "'\(source)' is not a Debian package: expected name=version, e.g. ovmf=2022.11-6")
            }
            if let arch, !Self.isValidName(arch) {
                throw f.bad("arch", "'\(arch)' is not a Debian architecture (amd64, arm64, all, …)")
            }
        case .pypi:
            let (package, version) = Self.splitPyPI(source)
            guard Self.isPyPIName(package), !version.isEmpty, Self.isPyPIName(version) else {
                throw f.bad(
                    "source", "'\(source)' is not a PyPI requirement: expected name==version, e.g. ziglang==0.13.0")
            }
            guard let fileName else {
                throw f.missing("file", "the exact wheel or sdist file name, which fixes the platform")
            }
            guard !fileName.isEmpty, !fileName.contains("/"), fileName != ".", fileName != "..",
                fileName.hasSuffix(".whl") || fileName.hasSuffix(".tar.gz") || fileName.hasSuffix(".zip")
            else {
                throw f.bad("file", "'\(fileName)' is not a wheel (.whl) or sdist (.tar.gz, .zip) file name")
            }
        case .url:
            guard Self.isHTTPURL(source) else {
                throw f.bad("source", "'\(source)' is not an http:// or https:// URL")
            }
        case .debianSource:
            try DebianSource.check(source: source, suite: suite, unpack: try f.string("unpack"), f)
            unpack = .source
        case .dockerArchive, .oci:
            if !Self.isHTTPURL(source) {
                if source.contains("://") {
                    throw f.bad("source", "'\(source)' is neither a path in the recipe folder nor an http(s) URL")
                }
                try checkRecipeRelative(source, f)
            }
        }
        return RecipeInput(
            name: name, kind: kind, source: source, sha256: sha256, unpack: unpack, arch: arch, file: fileName,
            url: url,
            suite: suite)
    }

    static func isDebianPackage(_ name: String) -> Bool {
        name.utf8.count >= 2 && isLowerAlnum(name.utf8.first ?? 0)
            && name.utf8.allSatisfy {
                isLowerAlnum($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
            }
    }

    static func isPyPIName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-+!".unicodeScalars.contains($0))
            }
    }

    /// A path relative to the recipe folder that stays in it lexically (symlinks are checked on disk).
    private func checkRecipeRelative(_ path: String, _ f: Fields) throws {
        if path.hasPrefix("/") {
            throw RecipeError(
                .unsafePath, file: file, table: f.table,
                "source '\(path)' is absolute; a path input is relative to the recipe's folder")
        }
        if path.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw RecipeError(
                .unsafePath, file: file, table: f.table,
                "source '\(path)' contains '..'; a path input may not leave the recipe's folder")
        }
    }

    // MARK: - Steps

    private func parseStep(_ f: Fields, inputNames: Set<String>, earlier: [String], environments: Set<String>)
        throws -> RecipeStep
    {
        try f.allow(["name", "inputs", "run", "env", "environment"])
        let name = try f.requiredString("name")
        guard Self.isValidName(name) else {
            throw f.bad("name", "step name '\(name)' is not valid: use [a-z0-9][a-z0-9._-]*")
        }
        if inputNames.contains(name) || earlier.contains(name) {
            throw RecipeError(
                .duplicateName, file: file, table: f.table,
                "name '\(name)' is already used by \(inputNames.contains(name) ? "an input" : "an earlier step"); "
                    + "inputs and steps share one namespace")
        }
        let stepInputs = try f.stringArray("inputs") ?? []
        var seen = Set<String>()
        for input in stepInputs {
            guard seen.insert(input).inserted else { throw f.bad("inputs", "'\(input)' is listed twice") }
            if inputNames.contains(input) || earlier.contains(input) { continue }
            let problem: String
            if input == name {
                problem = "'\(input)' is this step itself"
            } else {
                problem = "'\(input)' is neither an input nor an earlier step"
            }
            throw RecipeError(
                .unknownReference, file: file, table: f.table,
                "key 'inputs': \(problem) (a step sees inputs and the steps before it)")
        }
        guard let run = try f.stringArray("run") else {
            throw f.missing("run", "the argument vector, e.g. run = [\"/inputs/zig/zig\", \"cc\", …]")
        }
        guard let first = run.first, !first.isEmpty else {
            throw f.bad("run", "must name a program: a non-empty array whose first element is not empty")
        }
        var environment: [RecipeStep.EnvironmentVariable] = []
        if let env = try f.table("env") {
            let envFields = Fields(env, table: f.table + " env", file: file)
            for key in try envFields.keys() {
                guard Self.isEnvironmentName(key) else {
                    throw envFields.bad(key, "is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
                }
                guard let value = try envFields.string(key) else { continue }
                environment.append(RecipeStep.EnvironmentVariable(key: key, value: value))
            }
        }
        environment.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let root = try f.string("environment")
        if let root, !environments.contains(root) {
            throw RecipeError(
                .unknownReference, file: file, table: f.table,
                "key 'environment': '\(root)' is not an environment of this recipe "
                    + (environments.isEmpty
                        ? "(it has no [environments] table)" : "(it has \(Self.list(environments.sorted())))"))
        }
        return RecipeStep(name: name, inputs: stepInputs, run: run, environment: environment, rootEnvironment: root)
    }

    // MARK: - Environments

    private func parseEnvironment(name: String, _ f: Fields) throws -> RecipeEnvironment {
        try f.allow(["suite", "packages", "variant", "arch"])
        let suite = try f.requiredString("suite")
        guard !suite.isEmpty, suite.utf8.allSatisfy({ Self.isLowerAlnum($0) || $0 == UInt8(ascii: "-") }) else {
            throw f.bad("suite", "'\(suite)' is not a Debian suite name (e.g. bookworm)")
        }
        guard let packages = try f.stringArray("packages") else {
            throw f.missing("packages", "the packages asked for, e.g. packages = [\"python3-minimal\"]")
        }
        guard !packages.isEmpty else { throw f.bad("packages", "must name at least one package") }
        var seen = Set<String>()
        for package in packages {
            guard Self.isDebianPackage(package) else {
                throw f.bad("packages", "'\(package)' is not a Debian package name (no version or architecture here)")
            }
            guard seen.insert(package).inserted else { throw f.bad("packages", "'\(package)' is listed twice") }
        }
        var variant = RecipeEnvironment.Variant.essential
        if let text = try f.string("variant") {
            guard let parsed = RecipeEnvironment.Variant(rawValue: text) else {
                throw f.bad(
                    "variant",
                    "'\(text)' is not a variant: use \(Self.list(RecipeEnvironment.Variant.allCases.map(\.rawValue)))")
            }
            variant = parsed
        }
        let arch = try f.string("arch") ?? "amd64"
        guard arch == "amd64" else { throw f.bad("arch", "'\(arch)': only amd64 environments are built") }
        return RecipeEnvironment(name: name, suite: suite, packages: packages, variant: variant, arch: arch)
    }

    static func isEnvironmentName(_ key: String) -> Bool {
        guard let first = key.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return key.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_")
        }
    }

    // MARK: - Root filesystem

    private func parseRootfs(_ f: Fields, context: ReferenceContext, environments: Set<String>) throws -> RootfsSpec {
        try f.allow(["base", "files", "cmd", "env"])
        var base: String?
        if let text = try f.string("base") {
            guard text.hasPrefix("environment:") else {
                throw f.bad("base", "'\(text)' is not environment:NAME")
            }
            let name = String(text.dropFirst("environment:".count))
            guard environments.contains(name) else {
                throw RecipeError(
                    .unknownReference, file: file, table: f.table,
                    "key 'base': '\(name)' is not an environment of this recipe "
                        + (environments.isEmpty
                            ? "(it has no [environments] table)" : "(it has \(Self.list(environments.sorted())))"))
            }
            base = name
        }
        var files: [RootfsSpec.File] = []
        var paths = Set<String>()
        if let array = try f.array("files") {
            for index in 0..<array.count {
                let table = "[rootfs] files #\(index + 1)"
                guard let sub = array[index].table else {
                    throw RecipeError(
                        .badValue, file: file, table: table,
                        "each rootfs.files entry must be a table { path = …, from = … }")
                }
                let entry = Fields(sub, table: table, file: file)
                try entry.allow(["path", "from", "mode"])
                let rawPath = try entry.requiredString("path")
                let path = try Self.normalizeRootfsPath(rawPath, entry)
                guard paths.insert(path).inserted else {
                    throw entry.bad("path", "'\(path)' is placed twice in the root filesystem")
                }
                let fromText = try entry.requiredString("from")
                let from = try context.reference(fromText, fields: entry, key: "from")
                var mode: UInt16?
                if let value = entry.value("mode") {
                    mode = try Self.parseMode(value, entry)
                }
                files.append(RootfsSpec.File(path: path, from: from, mode: mode))
            }
        }
        let cmd = try f.stringArray("cmd") ?? []
        let env = try f.stringArray("env") ?? []
        for item in env {
            guard let eq = item.firstIndex(of: "="), Self.isEnvironmentName(String(item[..<eq])) else {
                throw f.bad("env", "'\(item)' is not KEY=value")
            }
        }
        return RootfsSpec(files: files, cmd: cmd, environment: env, baseEnvironment: base)
    }

    static func normalizeRootfsPath(_ path: String, _ f: Fields) throws -> String {
        guard path.hasPrefix("/") else {
            throw f.bad("path", "'\(path)' must be absolute in the root filesystem, e.g. /bin/node")
        }
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                throw RecipeError(.unsafePath, file: f.file, table: f.table, "key 'path': '\(path)' contains '..'")
            }
            parts.append(part)
        }
        guard !parts.isEmpty else { throw f.bad("path", "'\(path)' is the root itself; name a file below it") }
        return "/" + parts.joined(separator: "/")
    }

    static func parseMode(_ value: any TOMLValueConvertible, _ f: Fields) throws -> UInt16 {
        let parsed: Int?
        if let text = value.string {
            parsed =
                (3...4).contains(text.count) && text.allSatisfy({ ("0"..."7").contains($0) })
                ? Int(text, radix: 8) : nil
        } else {
            parsed = value.int
        }
        guard let mode = parsed, (0...0o7777).contains(mode) else {
            throw f.bad("mode", "expected octal permission bits as a string, e.g. \"0755\"")
        }
        return UInt16(mode)
    }

    static func list(_ words: [String]) -> String { words.joined(separator: ", ") }
}

/// What `input:` and `step:` references may name.
struct ReferenceContext {
    let inputs: [RecipeInput]
    let steps: Set<String>

    func reference(_ text: String, fields f: Fields, key: String) throws -> FileReference {
        func fail(_ kind: RecipeError.Kind, _ why: String) -> RecipeError {
            RecipeError(kind, file: f.file, table: f.table, "key '\(key)': '\(text)' \(why)")
        }
        let isInput = text.hasPrefix("input:")
        guard isInput || text.hasPrefix("step:") else {
            throw fail(.badValue, "is not a file reference; use input:NAME/PATH or step:NAME/PATH")
        }
        let body = text.dropFirst(isInput ? 6 : 5)
        let name = String(body.prefix { $0 != "/" })
        var rest = body.dropFirst(name.count)
        var isDirectory = false
        if !rest.isEmpty {
            rest = rest.dropFirst()  // the slash after NAME
            if rest.isEmpty || rest.hasSuffix("/") {
                isDirectory = true
                if !rest.isEmpty { rest = rest.dropLast() }
            }
        } else if !isInput {
            throw fail(.badValue, "names no file; use step:NAME/PATH, or step:NAME/ for the whole output")
        }
        let components = rest.isEmpty ? [] : rest.split(separator: "/", omittingEmptySubsequences: false)
        for part in components {
            if part == ".." { throw fail(.unsafePath, "contains '..'; a reference may not leave its input or step") }
            if part.isEmpty { throw fail(.unsafePath, "has an empty path component (absolute or '//')") }
            if part == "." { throw fail(.badValue, "has a '.' component; write the path without it") }
        }
        if isInput {
            guard let input = inputs.first(where: { $0.name == name }) else {
                throw fail(.unknownReference, "names input '\(name)', which the recipe does not declare")
            }
            if isDirectory {
                throw fail(.badValue, "ends in '/'; only step outputs can be placed as whole directories")
            }
            if components.isEmpty, input.unpack != .none {
                throw fail(
                    .badValue, "names the whole input, but '\(name)' is unpacked (\(input.unpack.rawValue)); add a path"
                )
            }
            return FileReference(origin: .input(name), path: components.joined(separator: "/"))
        }
        guard steps.contains(name) else {
            throw fail(.unknownReference, "names step '\(name)', which the recipe does not declare")
        }
        return FileReference(origin: .step(name), path: components.joined(separator: "/"), isDirectory: isDirectory)
    }
}

/// One TOML table with its path, for typed access with errors that name file, table and key.
struct Fields {
    let toml: TOMLTable
    let table: String
    let file: String

    init(_ toml: TOMLTable, table: String, file: String) {
        self.toml = toml
        self.table = table
        self.file = file
    }

    /// The keys, sorted.
    /// The keys, sorted. A key TOMLKit cannot give back (one with a NUL character, which its C bridge
    /// truncates) is an error rather than a silently dropped entry.
    func keys() throws -> [String] {
        let keys = toml.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for (index, key) in keys.enumerated() where toml[key] == nil || (index > 0 && keys[index - 1] == key) {
            throw RecipeError(.syntax, file: file, table: table, "a key contains a NUL character ('\(key)…')")
        }
        return keys
    }

    func value(_ key: String) -> (any TOMLValueConvertible)? { toml[key] }

    func allow(_ known: Set<String>) throws {
        for key in try keys() where !known.contains(key) {
            throw RecipeError(.unknownKey, file: file, table: table, "unknown key '\(key)'")
        }
    }

    func missing(_ key: String, _ what: String) -> RecipeError {
        RecipeError(.missingKey, file: file, table: table, "missing '\(key)' (\(what))")
    }

    func bad(_ key: String, _ why: String) -> RecipeError {
        RecipeError(.badValue, file: file, table: table, "key '\(key)': \(why)")
    }

    private func wrongType(_ key: String, _ value: any TOMLValueConvertible, _ expected: String) -> RecipeError {
        bad(key, "expected \(expected), found a \(value.type.rawValue)")
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let s = value.string else { throw wrongType(key, value, "a string") }
        return s
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw missing(key, "a string") }
        return s
    }

    func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let i = value.int else { throw wrongType(key, value, "an integer") }
        return i
    }

    func table(_ key: String) throws -> TOMLTable? {
        guard let value = value(key) else { return nil }
        guard let t = value.table else { throw wrongType(key, value, "a table") }
        return t
    }

    func array(_ key: String) throws -> TOMLArray? {
        guard let value = value(key) else { return nil }
        guard let a = value.array else { throw wrongType(key, value, "an array") }
        return a
    }

    func stringArray(_ key: String) throws -> [String]? {
        guard let array = try array(key) else { return nil }
        var out: [String] = []
        for index in 0..<array.count {
            guard let s = array[index].string else {
                throw bad(key, "element \(index + 1) is a \(array[index].type.rawValue); expected an array of strings")
            }
            out.append(s)
        }
        return out
    }
}
