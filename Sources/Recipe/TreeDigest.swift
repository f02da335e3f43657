import Archive
import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The tree digest of a directory (`Recipes/README.md`, "Inputs"): the sha256 of a listing with one
/// line per entry below the directory, sorted by path bytes, `TYPE MODE SIZE SHA256 PATH\n`, where TYPE
/// is `f`, `d` or `l`; MODE is `0755` (owner-executable files, directories, symlinks) or `0644`; SIZE is
/// the file size, the link target's length, or 0 for directories; SHA256 is the content digest (of the
/// link target for symlinks, 64 zeros for directories). Symlinks are never followed; other file types
/// and names containing a newline are errors.
///
/// ```swift
/// let digest = try TreeDigest.digest(directory: "Recipes/example-node/src")   // 64 hex digits
/// ```
public enum TreeDigest {
    /// One line of the listing.
    public struct Entry: Sendable, Hashable {
        public var type: Character
        public var mode: String
        public var size: UInt64
        public var sha256: String
        /// Relative, `/`-separated, raw bytes.
        public var path: [UInt8]
        /// A symlink's target (not part of the line; its digest is).
        public var linkTarget: [UInt8]? = nil

        /// The listing line, newline included.
        public var line: [UInt8] {
            Array("\(type) \(mode) \(size) \(sha256) ".utf8) + path + [UInt8(ascii: "\n")]
        }
    }

    /// The entries of the listing, sorted by path bytes.
    public static func entries(directory: String) throws -> [Entry] {
        var entries: [Entry] = []
        // Explicit stack of relative directory paths, so deep trees cannot overflow the call stack.
        var stack: [[UInt8]] = [[]]
        while let relative = stack.popLast() {
            let full = relative.isEmpty ? directory : FileTree.path(directory, relative)
            for name in try FileTree.sortedNames(full) {
                let path = relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name
                let entryPath = FileTree.path(directory, path)
                if name.contains(UInt8(ascii: "\n")) {
                    throw RecipeError(
                        .badValue, file: entryPath, "a file name contains a newline; the tree digest cannot list it")
                }
                guard let st = try FileSystem.lstatIfPresent(entryPath) else {
                    throw SystemError("stat", path: entryPath, errno: ENOENT)
                }
                switch FileSystem.type(of: st.st_mode) {
                case .directory:
                    entries.append(Entry(type: "d", mode: "0755", size: 0, sha256: zeroDigest, path: path))
                    stack.append(path)
                case .regular:
                    let digest = try FileStream.hash(path: entryPath, .sha256).hex
                    let mode = st.st_mode & 0o100 != 0 ? "0755" : "0644"
                    entries.append(Entry(type: "f", mode: mode, size: UInt64(st.st_size), sha256: digest, path: path))
                case .symlink:
                    let target = try SymbolicLink.target(of: entryPath)
                    entries.append(
                        Entry(
                            type: "l", mode: "0755", size: UInt64(target.count), sha256: Digest.sha256(target).hex,
                            path: path, linkTarget: target))
                case .other:
                    throw RecipeError(
                        .badValue, file: entryPath,
                        "is a special file (device, fifo or socket); a tree digest lists only files, directories and "
                            + "symlinks")
                }
            }
        }
        entries.sort { $0.path.lexicographicallyPrecedes($1.path) }
        return entries
    }

    /// The listing's bytes.
    public static func listing(directory: String) throws -> [UInt8] {
        try entries(directory: directory).flatMap(\.line)
    }

    /// The tree digest, lowercase hex.
    public static func digest(directory: String) throws -> String {
        let hash = Digest(.sha256)
        for entry in try entries(directory: directory) { hash.update(entry.line) }
        return hash.finalize().hex
    }

    static let zeroDigest = String(repeating: "0", count: 64)
}

/// Finds path inputs (and local docker-archive/oci inputs) in the recipe folder and checks that they stay
/// in it: the lexical checks happen at parse time, the symlink check here, on disk.
enum PathInputs {
    /// The input's file or directory, with symlinks in its path resolved; throws if it is missing or
    /// resolves outside the recipe's folder.
    static func locate(_ input: RecipeInput, in recipe: Recipe) throws -> String {
        guard let relative = input.localPath else {
            throw RecipeError(.badValue, "input '\(input.name)' is not a path in the recipe folder")
        }
        let candidate = recipe.directory + "/" + relative
        guard FileStatus(candidate) != nil else {
            throw RecipeError(
                .badValue, file: recipe.path, table: "[inputs.\(input.name)]",
                "source '\(relative)' does not exist in the recipe's folder (\(recipe.directory))")
        }
        let root = try FileSystem.realPath(recipe.directory)
        let resolved = try FileSystem.realPath(candidate)
        guard resolved != root, resolved.hasPrefix(root == "/" ? "/" : root + "/") else {
            throw RecipeError(
                .unsafePath, file: recipe.path, table: "[inputs.\(input.name)]",
                resolved == root
                    ? "source '\(relative)' is the recipe's folder itself; name a file or folder inside it"
                    : "source '\(relative)' leaves the recipe's folder through a symlink (it resolves to \(resolved))")
        }
        return resolved
    }

    /// The sha256 of a local input: the file's digest, or the directory's tree digest. A symlink in the
    /// directory that is absolute or climbs out of it is an error: the input would reach outside the
    /// recipe folder through it.
    static func digest(of path: String, input: String) throws -> String {
        guard FileStatus.isDirectory(path) else { return try FileStream.hash(path: path, .sha256).hex }
        let entries = try TreeDigest.entries(directory: path)
        for entry in entries {
            guard let target = entry.linkTarget else { continue }
            let parts = entry.path.split(separator: UInt8(ascii: "/")).map { Array($0) }
            if target.first == UInt8(ascii: "/") || !SafePath.symlinkStaysInside(linkComponents: parts, target: target)
            {
                throw RecipeError(
                    .unsafePath,
                    "input '\(input)': symlink '\(String(decoding: entry.path, as: UTF8.self))' points to "
                        + "'\(String(decoding: target, as: UTF8.self))', outside the input's folder; "
                        + "path inputs may not reach out of the recipe folder")
            }
        }
        let hash = Digest(.sha256)
        for entry in entries { hash.update(entry.line) }
        return hash.finalize().hex
    }
}
