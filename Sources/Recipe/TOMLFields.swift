import TOML
import TOMLKit

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
