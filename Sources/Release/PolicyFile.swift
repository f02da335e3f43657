import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes and checks policy files (`enclavekit policy init` / `policy check`) in the format
/// ``ReleasePolicy`` reads (`Manifests/README.md`).
///
/// ```swift
/// let bytes = try PolicyFile.make(keys: [("alice", "keys/alice.pub.pem")], threshold: 1, policyPath: "policy.json")
/// try PolicyFile.write(bytes, to: "policy.json", overwrite: false)
/// ```
public enum PolicyFile {
    /// One key to trust: who holds it and its public key file.
    public struct KeySpec: Sendable, Equatable {
        public var name: String
        public var path: String

        public init(name: String, path: String) {
            self.name = name
            self.path = path
        }

        /// `NAME=PATH`; anything else throws ``ReleaseError/Kind/keySpec``.
        public init(parsing text: String) throws(ReleaseError) {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex
            else {
                throw ReleaseError(.keySpec, "'\(text)': expected NAME=PUBLIC-KEY-FILE")
            }
            self.init(name: String(text[..<eq]), path: String(text[text.index(after: eq)...]))
        }
    }

    /// The policy's bytes: pretty JSON, each key by `publicKeyFile` relative to the policy's directory
    /// (or `publicKey` PEM text when `inline`), with its scheme. Every key is read and parsed, and the
    /// result is read back exactly as `verify` will read it, so what is written always loads.
    public static func make(keys: [KeySpec], threshold: Int, policyPath: String, inline: Bool = false) throws
        -> [UInt8]
    {
        guard !keys.isEmpty else { throw ReleaseError(.noKeys, "a policy needs at least one key") }
        var entries: [JSONValue] = []
        for spec in keys {
            let pem = try FileInput.contents(of: spec.path, limit: UInt64(PEMBlock.maxBytes), format: "public key")
            let key = try PublicKey(pem: pem, format: spec.path)
            var fields: [(String, JSONValue)] = [("name", .string(spec.name)), ("scheme", .string(key.type.scheme))]
            if inline {
                fields.append(("publicKey", .string(key.pem)))
            } else {
                fields.append(("publicKeyFile", .string(relativePath(spec.path, from: directory(of: policyPath)))))
            }
            entries.append(.object(fields))
        }
        let value = JSONValue.object([
            ("policyVersion", .int(ReleasePolicy.version)), ("threshold", .int(threshold)), ("keys", .array(entries)),
        ])
        let bytes = Array((value.serialized(style: .pretty) + "\n").utf8)
        // The checks `verify` makes (threshold, duplicate keys and names), on the bytes to be written.
        let base = directory(of: policyPath)
        _ = try ReleasePolicy(json: bytes, format: policyPath) { relative in
            try FileInput.contents(
                of: relative.hasPrefix("/") ? relative : base + "/" + relative, limit: UInt64(PEMBlock.maxBytes),
                format: "public key")
        }
        return bytes
    }

    /// Writes atomically; refuses an existing file unless `overwrite`.
    public static func write(_ bytes: [UInt8], to path: String, overwrite: Bool) throws {
        if !overwrite, FileStatus(path) != nil {
            throw ReleaseError(.fileExists, "\(path) already exists")
        }
        try AtomicOutput.write(bytes, to: path, existing: overwrite ? .replace : .refuse)
    }

    /// The directory part of `path` (`.` for a bare name).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `path` (relative to the working directory, or absolute) as seen from `directory`.
    public static func relativePath(_ path: String, from directory: String) -> String {
        let target = components(absolute(path))
        let base = components(absolute(directory))
        var common = 0
        while common < min(target.count, base.count), target[common] == base[common] { common += 1 }
        let up = Array(repeating: "..", count: base.count - common)
        let rest = up + target[common...]
        return rest.isEmpty ? "." : rest.joined(separator: "/")
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd + "/" + path
    }

    /// Lexical components with `.` and `..` resolved.
    static func components(_ path: String) -> [String] {
        var out: [String] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !out.isEmpty { out.removeLast() }
                continue
            }
            out.append(String(part))
        }
        return out
    }
}
