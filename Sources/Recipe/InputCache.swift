import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The content-addressed cache (`Recipes/README.md`, "The cache"): `inputs/sha256/HEX` is the file
/// whose sha256 is HEX, `steps/HEX/` the output of the step whose key is HEX. Every lookup re-hashes the
/// file and drops one that does not match its name. Everything enters through a temporary name in the
/// same file system and a `rename`, so concurrent builds share the cache safely.
///
/// ```swift
/// let cache = InputCache.default()
/// if let file = try cache.lookup(sha256: pin) { print("cached at", file) }
/// ```
public struct InputCache: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// `$XDG_CACHE_HOME/enclavekit`, else `$HOME/.cache/enclavekit` (relative XDG values are ignored,
    /// as the XDG base directory specification says).
    public static func `default`(environment: [String: String]? = nil) -> InputCache {
        func variable(_ name: String) -> String? {
            if let environment { return environment[name] }
            return getenv(name).map { String(cString: $0) }
        }
        if let xdg = variable("XDG_CACHE_HOME"), xdg.hasPrefix("/") {
            return InputCache(root: xdg + "/enclavekit")
        }
        let home = variable("HOME").flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return InputCache(root: home + "/.cache/enclavekit")
    }

    public var inputsDirectory: String { root + "/inputs/sha256" }
    public var stepsDirectory: String { root + "/steps" }
    var temporaryRoot: String { root + "/tmp" }

    /// Where the file with this digest lives (whether or not it is there).
    public func inputPath(sha256: String) -> String { inputsDirectory + "/" + sha256 }

    /// The cached file with this sha256, re-hashed; a file whose bytes do not match is removed and
    /// `nil` returned (so the caller fetches it again).
    public func lookup(sha256: String) throws -> String? {
        guard RecipeParser.isSHA256(sha256) else {
            throw RecipeError(.badValue, "'\(sha256)' is not a sha256 (64 lowercase hex digits)")
        }
        let path = inputPath(sha256: sha256)
        guard let st = try FileSystem.lstatIfPresent(path) else { return nil }
        guard FileSystem.type(of: st.st_mode) == .regular else {
            FileTree.removeTree(path)
            return nil
        }
        let actual = try FileStream.hash(path: path, .sha256).hex
        guard actual == sha256 else {
            unlink(path)
            return nil
        }
        return path
    }

    /// A new private directory inside the cache for a download; the caller removes it.
    public func makeTemporaryDirectory() throws -> String {
        try TemporaryDirectory.make(in: temporaryRoot, prefix: "fetch-")
    }

    /// Moves `temporaryFile` (on the cache's file system, e.g. in ``makeTemporaryDirectory()``) into the
    /// cache under its sha256, mode 0644, and returns the digest. If the same content is already there,
    /// the existing file is kept.
    @discardableResult
    public func adopt(_ temporaryFile: String) throws -> String {
        let digest = try FileStream.hash(path: temporaryFile, .sha256).hex
        try FileTree.makeDirectories(inputsDirectory)
        guard chmod(temporaryFile, 0o644) == 0 else {
            throw SystemError("set the mode of", path: temporaryFile, errno: errno)
        }
        guard rename(temporaryFile, inputPath(sha256: digest)) == 0 else {
            throw SystemError("rename into the cache", path: inputPath(sha256: digest), errno: errno)
        }
        return digest
    }

    /// Copies `file` into the cache (through a temporary file and a rename) and returns its sha256.
    @discardableResult
    public func store(copying file: String) throws -> String {
        try ScratchDirectory.using(try makeTemporaryDirectory()) { directory in
            let temporary = directory + "/file"
            try FileSystem.copyFile(from: file, to: temporary, mode: 0o644)
            return try adopt(temporary)
        }
    }

    // MARK: - Tree listings

    /// `trees/HEX`: the ``TreeDigest`` listing whose sha256 (the tree digest) is HEX.
    public var listingsDirectory: String { root + "/trees" }

    /// Keeps the listing of a directory input under its tree digest (its own sha256), so that a later
    /// `compare` or `rebuild` can name the files in which two trees differ. Returns the digest.
    @discardableResult
    public func storeListing(_ entries: [TreeDigest.Entry]) throws -> String {
        let digest = TreeDigest.digest(of: entries)
        let path = listingsDirectory + "/" + digest
        if FileStatus(path)?.type == .regular { return digest }
        try FileTree.makeDirectories(listingsDirectory)
        try AtomicOutput.write(entries.flatMap(\.line), to: path, mode: 0o644)
        return digest
    }

    /// The listing of the tree whose digest is `sha256`, if the cache holds it (re-hashed; a file that
    /// does not match its name is dropped).
    public func listing(sha256: String) throws -> [TreeDigest.Entry]? {
        guard RecipeParser.isSHA256(sha256) else {
            throw RecipeError(.badValue, "'\(sha256)' is not a sha256 (64 lowercase hex digits)")
        }
        let path = listingsDirectory + "/" + sha256
        guard FileStatus(path)?.type == .regular else { return nil }
        let bytes = try FileSystem.readFile(path, limit: 256 << 20)
        guard Digest.sha256(bytes).hex == sha256, let entries = TreeDigest.entries(listing: bytes) else {
            unlink(path)
            return nil
        }
        return entries
    }

    // MARK: - Step outputs

    /// The cached output directory of the step whose key is `key`, if there is one.
    public func stepOutput(key: String) throws -> String? {
        guard RecipeParser.isSHA256(key) else {
            throw RecipeError(.badValue, "step key '\(key)' is not a sha256 (64 lowercase hex digits)")
        }
        let path = stepsDirectory + "/" + key
        return FileStatus.isDirectory(path) ? path : nil
    }

    /// Copies `directory` (files, directories and symlinks; symlinks are not followed) into
    /// `steps/KEY/` through a temporary directory and a rename, and returns the cached path. When
    /// another build stored the same key first, its copy is kept and returned.
    @discardableResult
    public func storeStepOutput(key: String, from directory: String) throws -> String {
        guard RecipeParser.isSHA256(key) else {
            throw RecipeError(.badValue, "step key '\(key)' is not a sha256 (64 lowercase hex digits)")
        }
        let final = stepsDirectory + "/" + key
        if FileStatus.isDirectory(final) { return final }
        try FileTree.makeDirectories(stepsDirectory)
        let staging = try TemporaryDirectory.make(in: stepsDirectory, prefix: ".tmp-")
        let cleanup = Interruption.removeOnInterrupt(staging)
        defer { Interruption.unregister(cleanup) }
        let copy = staging + "/out"
        do {
            try FileSystem.copyTree(from: directory, to: copy)
        } catch {
            FileTree.removeTree(staging)
            throw error
        }
        if Interruption.critical({ rename(copy, final) }) != 0 {
            let error = errno
            FileTree.removeTree(staging)
            // Lost the race: another build put the same key in place first; keep theirs.
            if (error == EEXIST || error == ENOTEMPTY), FileStatus.isDirectory(final) { return final }
            throw SystemError("rename into the cache", path: final, errno: error)
        }
        FileTree.removeTree(staging)
        return final
    }
}
