import EnclaveCore

/// An input with its bytes in hand: the verified sha256 and where the file (or directory) is.
///
/// ```swift
/// let zig = try await resolver.resolve(input, pin: lock.pin(for: input))
/// print(zig.file, zig.sha256, zig.origin)
/// ```
public struct ResolvedInput: Sendable, Hashable {
    public var input: RecipeInput
    /// The file's sha256, or the directory's tree digest (``TreeDigest``), lowercase hex.
    public var sha256: String
    /// The pinned file in the cache, or for local inputs the file or directory in the checkout.
    public var file: String
    /// Where the bytes come from: a URL, `apt-get download …`, `pip download …`, or a path.
    public var origin: String
    /// For a directory (a `path` input): its listing, whose digest is ``sha256``.
    public var files: [TreeDigest.Entry]?
    /// For a debian-source input (``file`` is its `.dsc`): the cached files the `.dsc` lists, by name.
    public var companions: [String: String]?

    public init(
        input: RecipeInput, sha256: String, file: String, origin: String, files: [TreeDigest.Entry]? = nil,
        companions: [String: String]? = nil
    ) {
        self.input = input
        self.sha256 = sha256
        self.file = file
        self.origin = origin
        self.files = files
        self.companions = companions
    }
}

/// Fetches and verifies inputs (`Recipes/README.md`, "Inputs"): path inputs are hashed in the checkout;
/// debian inputs come from `apt-get download` (or `url`), pypi inputs from `pip download` (or `url`),
/// url, docker-archive and oci inputs from an HTTP GET (`curl`) or the recipe folder. Fetched files go
/// into the content-addressed ``InputCache``; a cached file is used when its pin matches.
///
/// ```swift
/// let resolver = InputResolver(cache: .default(), recipe: recipe)
/// let resolved = try await resolver.resolve(recipe.inputs[0], pin: lock.pin(for: recipe.inputs[0]))
/// ```
public struct InputResolver: Sendable {
    public let cache: InputCache
    public let recipe: Recipe
    /// The programs used to fetch (names are looked up on PATH).
    public var curl = "curl"
    public var aptGet = "apt-get"
    public var python = "python3"
    /// Extra environment variables for those programs (e.g. `PIP_INDEX_URL`, `https_proxy`); the rest
    /// of the environment is inherited.
    public var environment: [String: String] = [:]

    public init(cache: InputCache, recipe: Recipe) {
        self.cache = cache
        self.recipe = recipe
    }

    /// Resolves `input` against `pin`. Without a pin, a fetched input is an error unless
    /// `fetchUnpinned` (the `lock` command), which fetches it and reports its digest. With a pin, bytes
    /// that differ are an error naming the input, where it came from, and both digests.
    public func resolve(_ input: RecipeInput, pin: String?, fetchUnpinned: Bool = false) async throws
        -> ResolvedInput
    {
        let origin = self.origin(of: input)
        if input.localPath != nil {
            let path = try PathInputs.locate(input, in: recipe)
            let (digest, files) = try PathInputs.listing(of: path, input: input.name)
            if let pin, pin != digest { throw mismatch(input, origin: origin, expected: pin, actual: digest) }
            if pin == nil, !fetchUnpinned { throw unpinned(input) }
            return ResolvedInput(input: input, sha256: digest, file: path, origin: origin, files: files)
        }
        if input.kind == .debianSource {
            return try await resolveSource(input, pin: pin, fetchUnpinned: fetchUnpinned, origin: origin)
        }
        if let pin, let cached = try cache.lookup(sha256: pin) {
            return ResolvedInput(input: input, sha256: pin, file: cached, origin: origin)
        }
        guard pin != nil || fetchUnpinned else { throw unpinned(input) }
        let digest = try await fetch(input)
        if let pin, pin != digest { throw mismatch(input, origin: origin, expected: pin, actual: digest) }
        return ResolvedInput(input: input, sha256: digest, file: cache.inputPath(sha256: digest), origin: origin)
    }

    /// Resolves every input of the recipe in build mode: each needs a pin in the recipe or in `lock`
    /// (same kind and source), and is fetched only when the cache does not hold its pinned bytes.
    /// Results follow `recipe.inputs` (sorted by name).
    public func resolveAll(lock: RecipeLock) async throws -> [ResolvedInput] {
        var resolved: [ResolvedInput] = []
        for input in recipe.inputs {
            resolved.append(try await resolve(input, pin: lock.pin(for: input)))
        }
        return resolved
    }

    /// Where `input` is fetched from, as shown in messages and reports.
    public func origin(of input: RecipeInput) -> String {
        if let local = input.localPath { return recipe.directory == "." ? local : recipe.directory + "/" + local }
        if let url = input.downloadURL { return url }
        switch input.kind {
        case .debian: return "apt-get download " + aptPackageArgument(input)
        case .pypi:
            let quiet: Set<String> = [
                "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--dest", "DIR",
            ]
            let shown = pipArguments(input, destination: "DIR").filter { !quiet.contains($0) }
            return (["pip download"] + shown).joined(separator: " ")
        case .debianSource: return "apt-get source " + input.source
        case .path, .url, .dockerArchive, .oci: return input.source
        }
    }

    /// A pin the bytes no longer match, with the way out for where the pin came from: a pin in the
    /// recipe is edited there (`lock` leaves those alone); a lock pin of a local input is renewed by
    /// `lock`; a lock pin of a fetched input is kept by `lock` while kind and source stay, so its entry
    /// is deleted first.
    func mismatch(_ input: RecipeInput, origin: String, expected: String, actual: String) -> RecipeError {
        let lockCommand = "enclavekit lock \(recipe.path)"
        let fix: String
        if input.sha256 == expected {
            fix =
                "if the new bytes are the ones you want, set sha256 = \"\(actual)\" in [inputs.\(input.name)] of "
                + "\(recipe.path), or remove that sha256 and run \(lockCommand)"
        } else if input.localPath != nil {
            fix =
                "the files changed since \(recipe.lockPath) was written: run \(lockCommand) to pin them "
                + "(or restore them)"
        } else {
            fix =
                "the source now gives other bytes: if they are the ones you want, delete inputs.\(input.name) from "
                + "\(recipe.lockPath) and run \(lockCommand)"
        }
        return RecipeError(
            .pinMismatch,
            "input '\(input.name)' (\(input.summary), from \(origin)): expected sha256 \(expected), got \(actual); "
                + fix)
    }

    func unpinned(_ input: RecipeInput) -> RecipeError {
        RecipeError(
            .unpinned,
            "input '\(input.name)' (\(input.summary)) has no pin in the recipe or the lock (a lock entry holds only for "
                + "the same kind and source): run enclavekit lock \(recipe.path)")
    }

    // MARK: - Fetching

    /// Fetches `input` into the cache and returns its sha256.
    func fetch(_ input: RecipeInput) async throws -> String {
        try await ScratchDirectory.using(try cache.makeTemporaryDirectory()) { try await fetch(input, in: $0) }
    }

    private func fetch(_ input: RecipeInput, in directory: String) async throws -> String {
        let what = "input '\(input.name)' (\(input.summary))"
        if let url = input.downloadURL {
            let out = directory + "/download"
            try await ProcessRunner.check(
                curl, ["-fsSL", "--proto", "=http,https", "--proto-redir", "=http,https", "-o", out, url],
                environment: .inherit(adding: environment), what: what, as: RecipeError.init)
            guard FileStatus(out) != nil else {
                throw RecipeError(.fetch, "\(what): \(url) gave no file")
            }
            return try cache.adopt(out)
        }
        switch input.kind {
        case .debian:
            try await ProcessRunner.check(
                aptGet, ["download", aptPackageArgument(input)], in: directory,
                environment: .inherit(adding: environment), what: what, as: RecipeError.init)
            let debs = try FileTree.sortedNames(directory).map { String(decoding: $0, as: UTF8.self) }
                .filter { $0.hasSuffix(".deb") }
            guard debs.count == 1 else {
                throw RecipeError(
                    .fetch, "\(what): apt-get download left \(debs.count) .deb files (\(debs.joined(separator: ", ")))")
            }
            return try cache.adopt(directory + "/" + debs[0])
        case .pypi:
            let destination = directory + "/dist"
            try await ProcessRunner.check(
                python, pipArguments(input, destination: destination), environment: .inherit(adding: environment),
                what: what, as: RecipeError.init)
            let expected = input.file ?? ""
            let path = destination + "/" + expected
            guard FileStatus(path) != nil else {
                let got = ((try? FileTree.sortedNames(destination)) ?? []).map { String(decoding: $0, as: UTF8.self) }
                throw RecipeError(
                    .fetch,
                    "\(what): pip download did not give \(expected) (got \(got.isEmpty ? "nothing" : got.joined(separator: ", "))); "
                        + "check the file name, or give its url")
            }
            return try cache.adopt(path)
        case .debianSource:
            return try await fetchSource(input, into: directory)
        case .path, .url, .dockerArchive, .oci:
            throw RecipeError(.fetch, "\(what): nothing to fetch it from")
        }
    }

    /// `name=version`, or `name:arch=version` when the recipe gives `arch`.
    func aptPackageArgument(_ input: RecipeInput) -> String {
        guard let arch = input.arch else { return input.source }
        let (package, version) = RecipeParser.splitDebian(input.source)
        return "\(package):\(arch)=\(version)"
    }

    /// `python3 -m pip download …` arguments for a pypi input, with the platform options that the wheel
    /// file name's tags fix (PEP 427: `name-version[-build]-python-abi-platform.whl`).
    func pipArguments(_ input: RecipeInput, destination: String) -> [String] {
        var args = [
            "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--no-input", "--dest", destination,
        ]
        let file = input.file ?? ""
        if file.hasSuffix(".whl") {
            args.append("--only-binary=:all:")
            args += Self.wheelPlatformOptions(file)
        } else {
            args.append("--no-binary=:all:")
        }
        args.append(input.source)
        return args
    }

    /// `--platform`/`--python-version`/`--implementation`/`--abi` from a wheel file name's tags; none for a
    /// pure `any` wheel (pip picks it for every platform).
    static func wheelPlatformOptions(_ file: String) -> [String] {
        let parts = file.dropLast(4).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 5 || parts.count == 6 else { return [] }
        let pythonTags = parts[parts.count - 3].split(separator: ".")
        let abiTags = parts[parts.count - 2].split(separator: ".")
        let platformTags = parts[parts.count - 1].split(separator: ".")
        if platformTags == ["any"] { return [] }
        var options: [String] = []
        for tag in platformTags { options += ["--platform", String(tag)] }
        // An interpreter-specific tag fixes the interpreter: cp311 → --python-version 3.11, --implementation
        // cp, and the ABI tags. A generic tag (py3, py2.py3) fits every Python 3, so pip keeps the running
        // interpreter's version (`--python-version 3` would mean 3.0 and fail `Requires-Python ~=3.5`).
        let specific = pythonTags.filter { !$0.hasPrefix("py") }
        if let tag = specific.max(by: { $0.count == $1.count ? $0 < $1 : $0.count < $1.count }), tag.count >= 3 {
            let implementation = tag.prefix(2)
            let digits = tag.dropFirst(2)
            if digits.allSatisfy(\.isNumber), let major = digits.first {
                let minor = digits.dropFirst()
                options += ["--python-version", minor.isEmpty ? String(major) : "\(major).\(minor)"]
                options += ["--implementation", String(implementation)]
                for abi in abiTags { options += ["--abi", String(abi)] }
            }
        }
        return options
    }
}
