/// An error in a recipe, its lock file, or one of its inputs (`Recipes/README.md`, recipe format v1).
///
/// The message names the file, the TOML table and the key where there is one, and the line and column
/// for a TOML syntax error, so the CLI prints one line that says what to fix, e.g.
/// `recipe.toml: [targets.nitro]: unknown key 'kernal'` or
/// `input 'zig' (pypi ziglang==0.13.0, from https://…): expected sha256 ab…, got cd…`.
///
/// ```swift
/// do { _ = try Recipe.load(path: "recipe.toml") } catch let error as RecipeError { print(error) }
/// ```
public struct RecipeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, coarse enough for tests and scripts to match on.
    public enum Kind: String, Sendable, Hashable {
        /// The TOML (or lock JSON) does not parse.
        case syntax
        /// A key the format does not know.
        case unknownKey
        /// A required key is absent.
        case missingKey
        /// A value of the wrong type or form.
        case badValue
        /// A name used twice (inputs and steps share one namespace).
        case duplicateName
        /// A reference to an input or step that does not exist (or a later step).
        case unknownReference
        /// A path that leaves the recipe folder or an archive entry that leaves its tree.
        case unsafePath
        /// An input with no pin in the recipe or the lock, in build mode.
        case unpinned
        /// An input whose bytes differ from its pin.
        case pinMismatch
        /// Fetching an input failed (download, apt-get, pip).
        case fetch
        /// An archive input cannot be unpacked (malformed, or refused entry).
        case unpack
        /// The file system refused something (read, write, rename).
        case io
    }

    public var kind: Kind
    /// The file the problem is in (recipe, lock, archive), as given.
    public var file: String?
    /// Line and column (1-based) for syntax errors.
    public var line: Int?
    public var column: Int?
    /// The TOML table path, e.g. `[targets.nitro]`, `[[steps]] #2`.
    public var table: String?
    /// What was found and what was expected.
    public var message: String

    public init(
        _ kind: Kind, file: String? = nil, line: Int? = nil, column: Int? = nil, table: String? = nil,
        _ message: String
    ) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.table = table
        self.message = message
    }

    public var description: String {
        var parts: [String] = []
        if var location = file {
            if let line {
                location += ":\(line)"
                if let column { location += ":\(column)" }
            }
            parts.append(location)
        }
        if let table, !table.isEmpty { parts.append(table) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}
