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

    /// The tree digest of a listing's entries (the sha256 of their lines, in the order given).
    public static func digest(of entries: [Entry]) -> String {
        let hash = Digest(.sha256)
        for entry in entries { hash.update(entry.line) }
        return hash.finalize().hex
    }

    /// The listing's entries from its bytes (lines as ``Entry/line`` writes them), or nil when any line is
    /// not such a line.
    public static func entries(listing bytes: [UInt8]) -> [Entry]? {
        var entries: [Entry] = []
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            guard let entry = Entry(line: Array(line)) else { return nil }
            entries.append(entry)
        }
        return bytes.isEmpty || bytes.last == UInt8(ascii: "\n") ? entries : nil
    }

    /// What changed from the listing `old` to the listing `new`, one sentence per path, in path order:
    /// `file node.c changed (sha256 a… → b…)`, `file run.sh changed (mode 0644 → 0755)`,
    /// `file new.c added (sha256 …, mode 0644)`, `file old.c removed (sha256 …)`, `directory d added`,
    /// `symlink l changed (target sha256 … → …)`, `file x is now a symlink`.
    ///
    /// ```swift
    /// TreeDigest.changes(from: lockedEntries, to: try TreeDigest.entries(directory: "src"))
    /// ```
    public static func changes(from old: [Entry], to new: [Entry]) -> [String] {
        func noun(_ type: Character) -> String {
            switch type {
            case "d": return "directory"
            case "l": return "symlink"
            default: return "file"
            }
        }
        func name(_ entry: Entry) -> String { String(decoding: entry.path, as: UTF8.self) }
        var byPath: [[UInt8]: Entry] = [:]
        for entry in new { byPath[entry.path] = entry }
        var oldPaths = Set<[UInt8]>()
        var lines: [([UInt8], String)] = []
        for a in old {
            oldPaths.insert(a.path)
            guard let b = byPath[a.path] else {
                let what = a.type == "f" ? " (sha256 \(a.sha256))" : ""
                lines.append((a.path, "\(noun(a.type)) \(name(a)) removed\(what)"))
                continue
            }
            guard a.type == b.type else {
                lines.append((a.path, "\(noun(a.type)) \(name(a)) is now a \(noun(b.type))"))
                continue
            }
            var parts: [String] = []
            if a.sha256 != b.sha256 {
                parts.append("\(a.type == "l" ? "target sha256" : "sha256") \(a.sha256) → \(b.sha256)")
            }
            if a.mode != b.mode { parts.append("mode \(a.mode) → \(b.mode)") }
            if !parts.isEmpty {
                lines.append((a.path, "\(noun(a.type)) \(name(a)) changed (\(parts.joined(separator: ", ")))"))
            }
        }
        for b in new where !oldPaths.contains(b.path) {
            let what = b.type == "f" ? " (sha256 \(b.sha256), mode \(b.mode))" : ""
            lines.append((b.path, "\(noun(b.type)) \(name(b)) added\(what)"))
        }
        return lines.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
    }
}

extension TreeDigest.Entry {
    /// Parses one listing line (`TYPE MODE SIZE SHA256 PATH`, without its newline); nil when it is not
    /// one: an unknown type or mode, a size that is not a decimal number, a digest that is not 64
    /// lowercase hex digits, an empty path, an absolute one, or one with a NUL or newline.
    public init?(line: [UInt8]) {
        let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 4, omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].count == 1, let typeByte = fields[0].first,
            [UInt8(ascii: "f"), UInt8(ascii: "d"), UInt8(ascii: "l")].contains(typeByte)
        else { return nil }
        let mode = String(decoding: fields[1], as: UTF8.self)
        let sizeText = String(decoding: fields[2], as: UTF8.self)
        let sha256 = String(decoding: fields[3], as: UTF8.self)
        let path = Array(fields[4])
        guard mode == "0755" || mode == "0644", !sizeText.isEmpty,
            sizeText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let size = UInt64(sizeText), RecipeParser.isSHA256(sha256), !path.isEmpty, path.first != UInt8(ascii: "/"),
            !path.contains(0), !path.contains(UInt8(ascii: "\n"))
        else { return nil }
        self.init(
            type: Character(Unicode.Scalar(typeByte)), mode: mode, size: size, sha256: sha256, path: path,
            linkTarget: nil)
    }
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
        try listing(of: path, input: input).digest
    }

    /// ``digest(of:input:)``, with the directory's listing (nil for a file).
    static func listing(of path: String, input: String) throws -> (digest: String, files: [TreeDigest.Entry]?) {
        guard FileStatus.isDirectory(path) else { return (try FileStream.hash(path: path, .sha256).hex, nil) }
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
        return (TreeDigest.digest(of: entries), entries)
    }
}
