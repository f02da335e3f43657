import EnclaveCore

/// Reads fields of one JSON object, remembering which were used so unknown fields are errors, and
/// naming the field path (`manifest.targets[0].measurements.PCR0`) in every error.
struct ObjectReader {
    let value: JSONValue
    let path: String
    let format: String
    var used = Set<String>()

    init(_ value: JSONValue, path: String, format: String) {
        self.value = value
        self.path = path
        self.format = format
    }

    func error(_ message: String) -> ReleaseError { ReleaseError(.manifest, "\(path): \(message)", file: format) }

    func has(_ key: String) -> Bool { value[key] != nil }

    mutating func field(_ key: String) throws -> JSONValue {
        guard let v = value[key] else { throw error("missing field '\(key)'") }
        used.insert(key)
        return v
    }

    mutating func string(_ key: String) throws -> String {
        guard let s = try field(key).stringValue else { throw error("'\(key)' must be a string") }
        return s
    }

    mutating func nonEmptyString(_ key: String) throws -> String {
        let s = try string(key)
        guard !s.isEmpty else { throw error("'\(key)' must not be empty") }
        return s
    }

    mutating func integer(_ key: String) throws -> UInt64 {
        guard case .number(let text) = try field(key), let n = UInt64(text) else {
            throw error("'\(key)' must be a non-negative integer")
        }
        return n
    }

    mutating func hex(_ key: String, sizes: [Int]) throws -> String {
        let s = try string(key)
        let utf8 = Array(s.utf8)
        let lowerHex = utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        guard lowerHex, sizes.contains(utf8.count / 2), utf8.count % 2 == 0 else {
            let want = sizes.map { "\($0 * 2)" }.joined(separator: " or ")
            throw error("'\(key)' must be \(want) lowercase hex digits")
        }
        return s
    }

    mutating func kind(_ key: String) throws -> String {
        let s = try nonEmptyString(key)
        guard s.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
            throw error("'\(key)' must be a lowercase word such as path, debian, pypi, url, oci")
        }
        return s
    }

    /// A relative `/`-separated path with no `..`, `.` or empty components.
    mutating func relativePath(_ key: String) throws -> String {
        let s = try nonEmptyString(key)
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard !s.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !s.contains("\\") else {
            throw error("'\(key)' must be a relative path without '.', '..' or empty components")
        }
        return s
    }

    mutating func object(_ key: String) throws -> ObjectReader {
        let v = try field(key)
        guard case .object = v else { throw error("'\(key)' must be an object") }
        return ObjectReader(v, path: "\(path).\(key)", format: format)
    }

    mutating func anyObject(_ key: String) throws -> JSONValue {
        let v = try field(key)
        guard case .object = v else { throw error("'\(key)' must be an object") }
        return v
    }

    mutating func rawArray(_ key: String) throws -> [JSONValue] {
        guard case .array(let items) = try field(key) else { throw error("'\(key)' must be an array") }
        return items
    }

    mutating func array(_ key: String) throws -> [ObjectReader] {
        try rawArray(key).enumerated().map { i, item in
            let r = ObjectReader(item, path: "\(path).\(key)[\(i)]", format: format)
            guard case .object = item else { throw r.error("must be an object") }
            return r
        }
    }

    /// Throws if the object has fields nobody read.
    func finish(hint: String? = nil) throws {
        guard case .object(let pairs) = value else { return }
        if let unknown = pairs.first(where: { !used.contains($0.0) }) {
            throw error("unknown field '\(unknown.0)'" + (hint.map { " (\($0))" } ?? ""))
        }
    }
}
