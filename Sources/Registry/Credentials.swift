import EnclaveCore
import Release

/// A user name and password for a registry, from the Docker config file's `auths[HOST].auth`
/// (base64 of `user:password`) or its `username`/`password` fields.
///
/// ```swift
/// let c = try BasicCredentials.fromDockerConfig(host: "ghcr.io", environment: env)
/// ```
public struct BasicCredentials: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The `Authorization` header value.
    public var header: String { "Basic " + Base64.encode(Array("\(username):\(password)".utf8)) }

    /// Never shows the password.
    public var description: String { "credentials of \(username)" }

    /// The Docker config file: `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    public static func dockerConfigPath(environment: [String: String]) -> String? {
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty { return dir + "/config.json" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.docker/config.json" }
        return nil
    }

    /// The credentials the Docker config file holds for `host` (`HOST[:PORT]`), or nil (anonymous)
    /// when there is no file or no entry. A file or entry that does not parse is an error naming it.
    /// Entries are matched on their host: `https://ghcr.io`, `ghcr.io/v2/` and `ghcr.io` all match
    /// `ghcr.io`. Credential helpers (`credsStore`, `credHelpers`) are not run.
    public static func fromDockerConfig(host: String, environment: [String: String]) throws -> BasicCredentials? {
        guard let path = dockerConfigPath(environment: environment),
            FileStatus(path, followLinks: true)?.type == .regular
        else { return nil }
        let bytes = try FileInput.contents(of: path, limit: 4 << 20, format: "Docker config")
        return try fromDockerConfig(bytes: bytes, path: path, host: host)
    }

    static func fromDockerConfig(bytes: [UInt8], path: String, host: String) throws -> BasicCredentials? {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, format: "Docker config")
        } catch {
            throw error.in(file: path)
        }
        guard case .object(let auths) = value["auths"] else { return nil }
        let wanted = host.lowercased()
        guard let entry = auths.first(where: { normalizedHost($0.0) == wanted })?.1 else { return nil }
        if let auth = entry["auth"]?.stringValue, !auth.isEmpty {
            let decoded = try Base64.decode(auth, format: "\(path): auths[\(host)].auth")
            let text = String(decoding: decoded, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else {
                throw FormatError(
                    .badValue, format: "Docker config", "auths[\(host)].auth is not base64 of 'user:password'",
                    file: path)
            }
            return BasicCredentials(
                username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        }
        if let user = entry["username"]?.stringValue, let password = entry["password"]?.stringValue {
            return BasicCredentials(username: user, password: password)
        }
        return nil
    }

    /// `https://HOST[:PORT]/anything` → `host[:port]`.
    static func normalizedHost(_ key: String) -> String {
        var k = Substring(key)
        for scheme in ["https://", "http://"] where k.hasPrefix(scheme) { k = k.dropFirst(scheme.count) }
        if let slash = k.firstIndex(of: "/") { k = k[..<slash] }
        return k.lowercased()
    }
}

/// A `WWW-Authenticate` challenge (RFC 7235 §4.1): the scheme and its `key="value"` parameters.
///
/// ```swift
/// let c = AuthChallenge(parsing: #"Bearer realm="https://auth.example/token",service="registry""#)
/// // c?.scheme == "bearer", c?.parameters["realm"] == "https://auth.example/token"
/// ```
public struct AuthChallenge: Sendable, Equatable {
    /// Lowercased: `bearer` or `basic`.
    public var scheme: String
    public var parameters: [String: String]

    public init?(parsing header: String) {
        let bytes = Array(header.utf8)
        var i = 0
        while i < bytes.count, bytes[i] == 0x20 { i += 1 }
        let schemeStart = i
        while i < bytes.count, bytes[i] != 0x20 { i += 1 }
        guard i > schemeStart else { return nil }
        scheme = String(decoding: bytes[schemeStart..<i], as: UTF8.self).lowercased()
        var parameters: [String: String] = [:]
        while i < bytes.count {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == UInt8(ascii: ",") { i += 1 }
            let keyStart = i
            while i < bytes.count, bytes[i] != UInt8(ascii: "="), bytes[i] != 0x20, bytes[i] != UInt8(ascii: ",") {
                i += 1
            }
            let key = String(decoding: bytes[keyStart..<i], as: UTF8.self).lowercased()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { break }
            i += 1
            var value: [UInt8] = []
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < bytes.count {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                        value.append(bytes[i + 1])
                        i += 2
                    } else if bytes[i] == UInt8(ascii: "\"") {
                        i += 1
                        closed = true
                        break
                    } else {
                        value.append(bytes[i])
                        i += 1
                    }
                }
                guard closed else { return nil }
            } else {
                while i < bytes.count, bytes[i] != UInt8(ascii: ","), bytes[i] != 0x20 {
                    value.append(bytes[i])
                    i += 1
                }
            }
            if !key.isEmpty { parameters[key] = String(decoding: value, as: UTF8.self) }
        }
        self.parameters = parameters
    }
}
