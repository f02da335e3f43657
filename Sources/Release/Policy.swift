import EnclaveCore

/// Who must vouch for a release: trusted public keys and a threshold k (documented in
/// `Manifests/README.md`).
///
/// ```json
/// {"policyVersion": 1, "threshold": 2,
///  "keys": [{"name": "alice", "publicKeyFile": "keys/alice.pub.pem"},
///           {"name": "bob", "scheme": "ecdsa-sha2-nistp256", "publicKey": "-----BEGIN PUBLIC KEY-----\n…"}]}
/// ```
/// ```swift
/// let policy = try ReleasePolicy.load(path: "Manifests/policy.json")
/// ```
public struct ReleasePolicy: Sendable, Equatable {
    public static let version = 1

    public var threshold: Int
    public var keys: [TrustedKey]
    /// The independent rebuilders whose reproduction attestations `verify --attestations` counts, if any.
    public var rebuilders: RebuilderPolicy?

    public init(threshold: Int, keys: [TrustedKey], rebuilders: RebuilderPolicy? = nil) {
        self.threshold = threshold
        self.keys = keys
        self.rebuilders = rebuilders
    }

    /// Reads a policy file; `publicKeyFile` paths are relative to the policy's directory.
    public static func load(path: String) throws -> ReleasePolicy {
        let bytes = try FileInput.contents(of: path, limit: 1 << 20, format: "policy")
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        return try ReleasePolicy(json: bytes, format: path) { relative in
            let full = relative.hasPrefix("/") ? relative : (directory.isEmpty ? "/" : directory) + "/" + relative
            return try FileInput.contents(of: full, limit: UInt64(PEMBlock.maxBytes), format: "public key")
        }
    }

    /// Parses a policy; `readFile` resolves `publicKeyFile` entries.
    public init(json bytes: [UInt8], format: String, readFile: (String) throws -> [UInt8]) throws {
        let value = try JSONParser.parse(bytes, format: format)
        func fail(_ message: String) -> ReleaseError { ReleaseError(.policy, message, file: format) }
        guard case .object(let pairs) = value else { throw fail("a policy is a JSON object") }
        for (key, _) in pairs where !["policyVersion", "threshold", "keys", "rebuilders"].contains(key) {
            throw fail("unknown field '\(key)' (a policy has policyVersion, threshold, keys and rebuilders)")
        }
        guard case .number(let v)? = value["policyVersion"], Int(v) == ReleasePolicy.version else {
            throw fail("'policyVersion' must be \(ReleasePolicy.version)")
        }
        let keys = try ReleasePolicy.keys(value["keys"], field: "keys", format: format, readFile: readFile)
        guard case .number(let t)? = value["threshold"], let threshold = Int(t), threshold >= 1 else {
            throw fail("'threshold' must be an integer of at least 1")
        }
        guard threshold <= keys.count else {
            throw fail("threshold \(threshold) can never be met with \(keys.count) trusted keys")
        }
        self.threshold = threshold
        self.keys = keys
        if let section = value["rebuilders"] {
            self.rebuilders = try RebuilderPolicy(value: section, format: format, readFile: readFile)
        }
    }

    /// Parses a `keys` array (of the maintainers, or of the rebuilders: `field` names it in errors).
    static func keys(
        _ value: JSONValue?, field: String, format: String, readFile: (String) throws -> [UInt8]
    ) throws -> [TrustedKey] {
        func fail(_ message: String) -> ReleaseError { ReleaseError(.policy, message, file: format) }
        guard case .array(let entries)? = value, !entries.isEmpty else {
            throw fail("'\(field)' must be a non-empty array of trusted public keys")
        }
        var keys: [TrustedKey] = []
        for (i, entry) in entries.enumerated() {
            guard case .object(let fields) = entry else { throw fail("\(field)[\(i)] must be an object") }
            for (key, _) in fields where !["name", "publicKey", "publicKeyFile", "scheme", "keyid"].contains(key) {
                throw fail("\(field)[\(i)]: unknown field '\(key)'")
            }
            guard let name = entry["name"]?.stringValue, !name.isEmpty else {
                throw fail("\(field)[\(i)] needs a 'name' (who holds the key)")
            }
            var expecting: KeyType?
            if let scheme = entry["scheme"] {
                guard let s = scheme.stringValue, let t = KeyType(scheme: s) else {
                    throw fail(
                        "\(field)[\(i)] (\(name)): 'scheme' must be one of "
                            + KeyType.allCases.map(\.scheme).joined(separator: ", "))
                }
                expecting = t
            }
            let pem: [UInt8]
            let where_: String
            switch (entry["publicKey"]?.stringValue, entry["publicKeyFile"]?.stringValue) {
            case (let text?, nil):
                pem = Array(text.utf8)
                where_ = "\(format): \(field)[\(i)] (\(name))"
            case (nil, let file?):
                pem = try readFile(file)
                where_ = file
            default:
                throw fail(
                    "\(field)[\(i)] (\(name)) needs exactly one of 'publicKey' (PEM text) or 'publicKeyFile' (a path)")
            }
            let key = try PublicKey(pem: pem, format: where_, expecting: expecting)
            var keyid: String?
            if let k = entry["keyid"] {
                guard let s = k.stringValue, !s.isEmpty else {
                    throw fail("\(field)[\(i)] (\(name)): 'keyid' must be a string")
                }
                keyid = s
            }
            if let other = keys.first(where: { $0.key == key }) {
                throw fail("\(field)[\(i)] (\(name)) is the same key as \(other.name); list each key once")
            }
            if keys.contains(where: { $0.name == name }) { throw fail("two keys are named '\(name)'") }
            keys.append(TrustedKey(name: name, key: key, keyid: keyid))
        }
        return keys
    }

    /// The policy as JSON with keys inline (for `--json` output and tests).
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("policyVersion", .int(ReleasePolicy.version)), ("threshold", .int(threshold)),
            ("keys", ReleasePolicy.json(keys)),
        ]
        if let rebuilders {
            fields.append(
                (
                    "rebuilders",
                    .object([("threshold", .int(rebuilders.threshold)), ("keys", ReleasePolicy.json(rebuilders.keys))])
                ))
        }
        return .object(fields)
    }

    static func json(_ keys: [TrustedKey]) -> JSONValue {
        .array(
            keys.map {
                .object([
                    ("name", .string($0.name)), ("scheme", .string($0.key.type.scheme)),
                    ("publicKey", .string($0.key.pem)),
                ])
            })
    }
}
