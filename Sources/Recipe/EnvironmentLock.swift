import EnclaveCore

/// The lock of one Debian environment (`Recipes/README.md`, "Environments"): what was asked
/// (`suite`, `variant`, `arch`, `packages`), the archive time the closure was resolved at
/// (`snapshot`, RFC 3339 UTC: the newest `Date:` of the `InRelease` files used, so the same closure can
/// be fetched from Debian's snapshot archive), and the closure, every `.deb` pinned by sha256 and sorted
/// by package name. The entry holds while suite, variant, arch and packages are unchanged.
///
/// ```json
/// "environments": {"build": {"arch": "amd64", "closure": [{"architecture": "amd64", "archive": "debian",
///   "name": "libc6", "path": "pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb", "sha256": "…",
///   "size": 2759320, "version": "2.36-9+deb12u14"}, …], "packages": ["hello"],
///   "snapshot": "2026-11-30T02:21:41Z", "suite": "bookworm", "variant": "essential"}}
/// ```
public struct EnvironmentLock: Sendable, Hashable {
    /// One package of the closure.
    public struct Package: Sendable, Hashable {
        public var name: String
        public var version: String
        /// `amd64` or `all`.
        public var architecture: String
        /// The `.deb`'s sha256, lowercase hex.
        public var sha256: String
        public var size: UInt64
        /// The last path component of the archive's base URI (`debian`, `debian-security`).
        public var archive: String
        /// The pool path below the archive's base URI (`pool/main/g/glibc/libc6_…_amd64.deb`).
        public var path: String

        public init(
            name: String, version: String, architecture: String, sha256: String, size: UInt64, archive: String,
            path: String
        ) {
            self.name = name
            self.version = version
            self.architecture = architecture
            self.sha256 = sha256
            self.size = size
            self.archive = archive
            self.path = path
        }

        /// `name=version` (as apt and messages write it).
        public var pin: String { "\(name)=\(version)" }
    }

    public var suite: String
    public var variant: RecipeEnvironment.Variant
    public var arch: String
    /// The packages asked for, as in the recipe.
    public var packages: [String]
    /// RFC 3339 UTC, e.g. `2026-11-30T02:21:41Z`.
    public var snapshot: String
    /// Sorted by name, names unique.
    public var closure: [Package]

    public init(
        suite: String, variant: RecipeEnvironment.Variant, arch: String, packages: [String], snapshot: String,
        closure: [Package]
    ) {
        self.suite = suite
        self.variant = variant
        self.arch = arch
        self.packages = packages
        self.snapshot = snapshot
        self.closure = closure.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// Whether this entry still locks `environment`: same suite, variant, arch and packages.
    public func holds(for environment: RecipeEnvironment) -> Bool {
        suite == environment.suite && variant == environment.variant && arch == environment.arch
            && packages == environment.packages
    }

    // MARK: - JSON

    var jsonValue: JSONValue {
        .object([
            ("arch", .string(arch)),
            (
                "closure",
                .array(
                    closure.map { package in
                        .object([
                            ("architecture", .string(package.architecture)), ("archive", .string(package.archive)),
                            ("name", .string(package.name)), ("path", .string(package.path)),
                            ("sha256", .string(package.sha256)), ("size", .int(package.size)),
                            ("version", .string(package.version)),
                        ])
                    })
            ),
            ("packages", .array(packages.map { .string($0) })),
            ("snapshot", .string(snapshot)),
            ("suite", .string(suite)),
            ("variant", .string(variant.rawValue)),
        ])
    }

    /// Parses one `environments.NAME` object strictly.
    init(json value: JSONValue, name: String, file: String) throws {
        let here = "environments.\(name)"
        let object = try LockObject(
            value, at: here, file: file, known: ["suite", "variant", "arch", "packages", "snapshot", "closure"])
        let (fail, member, string) = (object.fail, object.member, object.string)
        suite = try string("suite")
        guard !suite.isEmpty, suite.utf8.allSatisfy({ RecipeParser.isLowerAlnum($0) || $0 == UInt8(ascii: "-") })
        else {
            throw fail(".suite '\(suite)' is not a Debian suite name")
        }
        let variantText = try string("variant")
        guard let parsedVariant = RecipeEnvironment.Variant(rawValue: variantText) else {
            throw fail(".variant '\(variantText)' is not a variant (essential, apt, minbase, buildd)")
        }
        variant = parsedVariant
        arch = try string("arch")
        guard arch == "amd64" else { throw fail(".arch '\(arch)': only amd64 environments are built") }
        guard case .array(let asked) = try member("packages") else {
            throw fail(".packages must be an array of package names")
        }
        packages = []
        for item in asked {
            guard let text = item.stringValue, RecipeParser.isDebianPackage(text) else {
                throw fail(".packages holds \(item.serialized()), which is not a Debian package name")
            }
            packages.append(text)
        }
        snapshot = try string("snapshot")
        guard Self.isSnapshotTime(snapshot) else {
            throw fail(".snapshot '\(snapshot)' is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)")
        }
        guard case .array(let items) = try member("closure") else {
            throw fail(".closure must be an array of packages")
        }
        guard !items.isEmpty else { throw fail(".closure is empty: run enclavekit lock on the recipe") }
        var closure: [Package] = []
        for (index, item) in items.enumerated() {
            closure.append(try Self.package(item, at: "\(here).closure[\(index)]", file: file))
        }
        for (previous, next) in zip(closure, closure.dropFirst()) {
            if previous.name == next.name { throw fail(".closure lists package '\(next.name)' twice") }
            guard previous.name.utf8.lexicographicallyPrecedes(next.name.utf8) else {
                throw fail(".closure is not sorted by name ('\(next.name)' after '\(previous.name)')")
            }
        }
        self.closure = closure
    }

    static func package(_ value: JSONValue, at here: String, file: String) throws -> Package {
        let object = try LockObject(
            value, at: here, file: file,
            known: ["name", "version", "architecture", "sha256", "size", "archive", "path"])
        let (fail, member, string) = (object.fail, object.member, object.string)
        let name = try string("name")
        guard RecipeParser.isDebianPackage(name) else { throw fail(".name '\(name)' is not a Debian package name") }
        let version = try string("version")
        guard isDebianVersion(version) else { throw fail(".version '\(version)' is not a Debian version") }
        let architecture = try string("architecture")
        guard architecture == "amd64" || architecture == "all" else {
            throw fail(".architecture '\(architecture)' is not amd64 or all")
        }
        let sha256 = try string("sha256")
        guard RecipeParser.isSHA256(sha256) else { throw fail(".sha256 '\(sha256)' is not 64 lowercase hex digits") }
        guard case .number(let sizeText) = try member("size"), let size = UInt64(sizeText) else {
            throw fail(".size must be a whole number of bytes")
        }
        let archive = try string("archive")
        guard RecipeParser.isValidName(archive) else {
            throw fail(".archive '\(archive)' is not an archive name (debian, debian-security, …)")
        }
        let path = try string("path")
        guard isPoolPath(path) else {
            throw fail(".path '\(path)' is not a pool path (pool/…/NAME.deb, no '..', no empty components)")
        }
        return Package(
            name: name, version: version, architecture: architecture, sha256: sha256, size: size, archive: archive,
            path: path)
    }

    /// Debian policy 5.6.12: `[epoch:]upstream[-revision]` from `[A-Za-z0-9.+~:-]`, starting with a digit.
    public static func isDebianVersion(_ text: String) -> Bool {
        guard let first = text.utf8.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return text.utf8.allSatisfy {
            RecipeParser.isLowerAlnum($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || Array(".+~:-".utf8).contains($0)
        }
    }

    /// `pool/…/X.deb` with components of `[A-Za-z0-9._+~-]` (no `%`, spaces or `..`).
    public static func isPoolPath(_ text: String) -> Bool {
        guard text.hasPrefix("pool/"), text.hasSuffix(".deb") else { return false }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return false }
        for part in parts {
            guard !part.isEmpty, part != ".", part != ".." else { return false }
            let allowed = part.utf8.allSatisfy {
                RecipeParser.isLowerAlnum($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                    || Array("._+~-".utf8).contains($0)
            }
            guard allowed else { return false }
        }
        return true
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, a real time.
    public static func isSnapshotTime(_ text: String) -> Bool {
        text.utf8.count == 20 && text.hasSuffix("Z") && Array(text.utf8)[10] == UInt8(ascii: "T")
            && CivilTime.parseRFC3339(text, utcOnly: true) != nil
    }
}

/// Resolves a Debian environment's closure for `enclavekit lock` (the `DebianEnvironment` module's
/// `DebianEnvironmentLocker`): the packages apt would install into an empty root, each `.deb` fetched
/// into the cache and checked against the archive's sha256. ``Locker`` calls it for every environment
/// whose lock entry is missing or no longer holds.
public protocol EnvironmentLocking: Sendable {
    func resolve(_ environment: RecipeEnvironment, recipe: Recipe) async throws -> EnvironmentLock
}

/// One JSON object of `recipe.lock`, read strictly: only the `known` keys; errors name the object's path
/// (`environments.build.closure[3]`) and the key.
struct LockObject {
    let value: JSONValue
    let here: String
    let file: String

    init(_ value: JSONValue, at here: String, file: String, known: [String]) throws {
        self.value = value
        self.here = here
        self.file = file
        guard case .object(let fields) = value else { throw fail(" must be an object") }
        for (key, _) in fields where !known.contains(key) {
            throw RecipeError(.unknownKey, file: file, "\(here): unknown key '\(key)'")
        }
    }

    /// A bad value: `message` follows the path (" must be …", ".key …").
    func fail(_ message: String) -> RecipeError { RecipeError(.badValue, file: file, "\(here)\(message)") }

    func member(_ key: String) throws -> JSONValue {
        guard let member = value[key] else { throw RecipeError(.missingKey, file: file, "\(here): missing '\(key)'") }
        return member
    }

    func string(_ key: String) throws -> String {
        guard let text = try member(key).stringValue else { throw fail(".\(key) must be a string") }
        return text
    }
}
