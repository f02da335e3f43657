/// A parsed and validated recipe, format version 1 (`Recipes/README.md`, "Recipe format").
///
/// Everything the contract says is checked when the recipe is read: required and unknown keys at every
/// level, types, name syntax, unique names across inputs and steps, step inputs that name known inputs or
/// earlier steps, `input:`/`step:` references, path inputs that stay in the recipe folder, and each
/// target's required keys. Inputs and targets are sorted by name; steps keep their file order.
///
/// ```swift
/// let recipe = try Recipe.load(path: "Recipes/example-node/recipe.toml")
/// print(recipe.name, recipe.inputs.map(\.name), recipe.targets.map(\.platform))
/// ```
public struct Recipe: Sendable {
    /// The recipe file as given (used in messages and in the manifest).
    public var path: String
    /// The recipe's folder (`path` without its last component, `.` when there is none).
    public var directory: String
    public var name: String
    public var version: String
    /// `source-date-epoch`: SOURCE_DATE_EPOCH for every step and archive.
    public var sourceDateEpoch: UInt64
    /// Inputs, sorted by name.
    public var inputs: [RecipeInput]
    /// Debian environments (`[environments.NAME]`), sorted by name.
    public var environments: [RecipeEnvironment]
    /// Build steps, in file order.
    public var steps: [RecipeStep]
    public var rootfs: RootfsSpec
    /// Targets, sorted by name.
    public var targets: [RecipeTarget]

    /// The lock file next to the recipe (`recipe.lock`).
    public var lockPath: String { directory == "." ? "recipe.lock" : directory + "/recipe.lock" }

    /// The input called `name`.
    public func input(named name: String) -> RecipeInput? { inputs.first { $0.name == name } }

    /// The step called `name`.
    public func step(named name: String) -> RecipeStep? { steps.first { $0.name == name } }

    /// The environment called `name`.
    public func environment(named name: String) -> RecipeEnvironment? { environments.first { $0.name == name } }

    /// Reads and validates the recipe at `path`; path inputs are also checked on disk (they must exist
    /// and may not leave the recipe folder through a symlink).
    public static func load(path: String) throws -> Recipe {
        let bytes = try FileSystem.readFile(path, limit: UInt64(RecipeParser.maxBytes))
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RecipeError(.syntax, file: path, "the recipe is not valid UTF-8 text")
        }
        let recipe = try Recipe(toml: text, path: path)
        for input in recipe.inputs where input.localPath != nil {
            _ = try PathInputs.locate(input, in: recipe)
        }
        return recipe
    }

    /// Parses and validates recipe TOML; `path` is where it came from (its folder anchors path inputs).
    /// Does not touch the file system.
    public init(toml: String, path: String) throws {
        self = try RecipeParser(file: path).parse(toml)
    }

    init(
        path: String, name: String, version: String, sourceDateEpoch: UInt64, inputs: [RecipeInput],
        environments: [RecipeEnvironment] = [], steps: [RecipeStep], rootfs: RootfsSpec, targets: [RecipeTarget]
    ) {
        self.path = path
        if let slash = path.lastIndex(of: "/") {
            let dir = String(path[..<slash])
            self.directory = dir.isEmpty ? "/" : dir
        } else {
            self.directory = "."
        }
        self.name = name
        self.version = version
        self.sourceDateEpoch = sourceDateEpoch
        self.inputs = inputs
        self.environments = environments
        self.steps = steps
        self.rootfs = rootfs
        self.targets = targets
    }
}

/// Where an input comes from (`Recipes/README.md`, "Inputs"); the raw value is the recipe's word.
public enum InputKind: String, Sendable, Hashable, CaseIterable {
    case path
    case debian
    case pypi
    case url
    case dockerArchive = "docker-archive"
    case oci
    /// A Debian source package, pinned by its `.dsc` (``DebianSource``).
    case debianSource = "debian-source"
}

/// How a step sees an input at `/inputs/NAME` (`Recipes/README.md`, "Inputs").
public enum UnpackMode: String, Sendable, Hashable, CaseIterable {
    /// The file itself, under its own name.
    case none
    /// A zip archive, extracted.
    case zip
    /// A Debian package's `data.tar.*`, extracted.
    case deb
    /// A tar archive (any compression), extracted.
    case tar
    /// A docker-archive or OCI image, flattened as `docker export` would.
    case image
    /// A Debian source package, unpacked as `dpkg-source -x` does (patches applied).
    case source
}

/// One `[inputs.NAME]` table.
///
/// ```swift
/// let zig = recipe.input(named: "zig")   // kind .pypi, source "ziglang==0.13.0", file "ziglang-…whl"
/// ```
public struct RecipeInput: Sendable, Hashable {
    public var name: String
    public var kind: InputKind
    /// What to fetch; its form depends on `kind` (`name=version`, `name==version`, a URL, a path).
    public var source: String
    /// The pin in the recipe (64 lowercase hex digits), if any.
    public var sha256: String?
    public var unpack: UnpackMode
    /// Debian architecture as written (`nil` means the default, `amd64`).
    public var arch: String?
    /// The exact file name of a pypi input.
    public var file: String?
    /// Where to fetch a debian, pypi, docker-archive or oci input instead of the default.
    public var url: String?
    /// The Debian release whose source archives a debian-source input is fetched from (`bookworm`).
    public var suite: String?

    public init(
        name: String, kind: InputKind, source: String, sha256: String? = nil, unpack: UnpackMode = .none,
        arch: String? = nil, file: String? = nil, url: String? = nil, suite: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.source = source
        self.sha256 = sha256
        self.unpack = unpack
        self.arch = arch
        self.file = file
        self.url = url
        self.suite = suite
    }

    /// The Debian architecture (`arch`, default `amd64`).
    public var debianArch: String { arch ?? "amd64" }

    /// The path in the recipe folder for `path` inputs, and for docker-archive/oci inputs whose source
    /// is not a URL and that have no `url`; `nil` for fetched inputs.
    public var localPath: String? {
        switch kind {
        case .path: return source
        case .dockerArchive, .oci: return url == nil && !RecipeParser.isHTTPURL(source) ? source : nil
        case .debian, .pypi, .url, .debianSource: return nil
        }
    }

    /// The URL a fetched input is downloaded from, when it is downloaded over HTTP.
    public var downloadURL: String? {
        if let url { return url }
        switch kind {
        case .url: return source
        case .dockerArchive, .oci: return RecipeParser.isHTTPURL(source) ? source : nil
        case .path, .debian, .pypi, .debianSource: return nil
        }
    }

    /// The name the file gets under `/inputs/NAME` with `unpack = "none"`: the last component of its
    /// source (for pypi the `file`, for debian `name_version_arch.deb` as `apt-get download` names it).
    public var fileName: String {
        switch kind {
        case .pypi: return file ?? source
        case .debian:
            let (package, version) = RecipeParser.splitDebian(source)
            return
                "\(package)_\(version.split(separator: ":", omittingEmptySubsequences: false).joined(separator: "%3a"))_\(debianArch).deb"
        case .debianSource: return DebianSource.dscName(source)
        case .path, .dockerArchive, .oci, .url:
            if let url = downloadURL { return RecipeParser.urlFileName(url) ?? name }
            return source.split(separator: "/").last.map(String.init) ?? name
        }
    }

    /// How the input is described in messages: `pypi ziglang==0.13.0`.
    public var summary: String { "\(kind.rawValue) \(source)" }
}

/// One `[[steps]]` entry: an argument vector run in the sandbox.
///
/// ```swift
/// let node = recipe.step(named: "node")   // inputs ["src", "zig"], run ["/inputs/zig/…/zig", "cc", …]
/// ```
public struct RecipeStep: Sendable, Hashable {
    /// One `env` entry.
    public struct EnvironmentVariable: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public var name: String
    /// Inputs and earlier steps the step sees, in file order.
    public var inputs: [String]
    /// The argument vector (not a shell line).
    public var run: [String]
    /// The step's `env`, sorted by key; added to the fixed environment.
    public var environment: [EnvironmentVariable]
    /// `environment = "NAME"`: the Debian environment whose root is the step's `/`; `nil` runs the step
    /// in the plain sandbox (inputs, earlier steps and `/build/out` only).
    public var rootEnvironment: String?

    public init(
        name: String, inputs: [String], run: [String], environment: [EnvironmentVariable] = [],
        rootEnvironment: String? = nil
    ) {
        self.name = name
        self.inputs = inputs
        self.run = run
        self.environment = environment
        self.rootEnvironment = rootEnvironment
    }
}

/// A file named by `input:NAME/PATH` or `step:NAME/PATH` (`Recipes/README.md`, "The root filesystem").
///
/// ```swift
/// let ref = try FileReference(parsing: "step:node/bin/node", …)   // .step("node"), path "bin/node"
/// ```
public struct FileReference: Sendable, Hashable, CustomStringConvertible {
    /// Whose output or contents the path is in.
    public enum Origin: Sendable, Hashable {
        case input(String)
        case step(String)
    }

    public var origin: Origin
    /// Relative `/`-separated path inside the input or step output; empty for `input:NAME` alone (the
    /// file of an `unpack = "none"` input) or `step:NAME/` (the whole output).
    public var path: String
    /// `step:NAME/PATH/`: a whole directory.
    public var isDirectory: Bool

    public init(origin: Origin, path: String, isDirectory: Bool = false) {
        self.origin = origin
        self.path = path
        self.isDirectory = isDirectory
    }

    /// The reference as written in a recipe.
    public var description: String {
        let prefix: String
        switch origin {
        case .input(let name): prefix = "input:" + name
        case .step(let name): prefix = "step:" + name
        }
        if path.isEmpty { return isDirectory ? prefix + "/" : prefix }
        return prefix + "/" + path + (isDirectory ? "/" : "")
    }
}

/// The `[rootfs]` table: what goes into the node's root filesystem.
public struct RootfsSpec: Sendable, Hashable {
    /// One `rootfs.files` entry.
    public struct File: Sendable, Hashable {
        /// Absolute, normalized path in the root filesystem (`/bin/node`).
        public var path: String
        public var from: FileReference
        /// Explicit permission bits, or `nil` for the default (0755 executables/directories, 0644 files).
        public var mode: UInt16?

        public init(path: String, from: FileReference, mode: UInt16? = nil) {
            self.path = path
            self.from = from
            self.mode = mode
        }
    }

    public var files: [File]
    /// The command the init runs.
    public var cmd: [String]
    /// Its environment (`KEY=value` strings).
    public var environment: [String]
    /// `base = "environment:NAME"`: the environment whose root the root filesystem starts from (less
    /// what the documented drop rule removes); `files` are added on top. `nil`: an empty root.
    public var baseEnvironment: String?

    public init(files: [File] = [], cmd: [String] = [], environment: [String] = [], baseEnvironment: String? = nil) {
        self.files = files
        self.cmd = cmd
        self.environment = environment
        self.baseEnvironment = baseEnvironment
    }
}

/// One `[environments.NAME]` table: a root filesystem assembled from Debian packages
/// (`Recipes/README.md`, "Environments"). The recipe names what is asked for; `recipe.lock` holds the
/// whole closure, each `.deb` pinned by sha256.
///
/// ```swift
/// let build = recipe.environment(named: "build")   // suite "bookworm", packages ["python3", "python3-pip"]
/// ```
public struct RecipeEnvironment: Sendable, Hashable {
    /// The base set an environment starts from, as mmdebstrap(1) names its variants.
    public enum Variant: String, Sendable, Hashable, CaseIterable {
        /// The `Essential: yes` packages (a shell, coreutils, dpkg, …).
        case essential
        /// `essential` plus apt.
        case apt
        /// `Priority: required` packages (mmdebstrap's `minbase`).
        case minbase
        /// `minbase` plus `build-essential` (mmdebstrap's `buildd`).
        case buildd
    }

    public var name: String
    /// The Debian release whose archive resolves the packages (`bookworm`).
    public var suite: String
    /// The packages asked for, in file order; the closure adds their dependencies and the base set.
    public var packages: [String]
    public var variant: Variant
    /// Debian architecture; only `amd64` is built today.
    public var arch: String

    public init(name: String, suite: String, packages: [String], variant: Variant = .essential, arch: String = "amd64")
    {
        self.name = name
        self.suite = suite
        self.packages = packages
        self.variant = variant
        self.arch = arch
    }
}

/// The `rootfs.files` entry type (the contract's name).
public typealias RootfsFile = RootfsSpec.File

/// A TEE platform a target is built for; the raw value is the recipe's word.
public enum TargetPlatform: String, Sendable, Hashable, CaseIterable {
    case nitro
    case tdx
    case sevSNP = "sev-snp"
    case sgx
}

/// One `[targets.NAME]` table.
///
/// ```swift
/// if case .nitro(let nitro) = recipe.targets[0].settings { print(nitro.cmdline) }
/// ```
public struct RecipeTarget: Sendable, Hashable {
    public var name: String
    public var settings: TargetSettings
    public var platform: TargetPlatform { settings.platform }

    public init(name: String, settings: TargetSettings) {
        self.name = name
        self.settings = settings
    }
}
