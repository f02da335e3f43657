import EnclaveCore

/// An image reference with an explicit registry host: `HOST[:PORT]/REPO[:TAG][@sha256:HEX]` (OCI
/// distribution spec 1.1, "Pulling manifests": `<name>` and `<reference>`; the host is what Docker calls
/// the registry domain). There is no default registry: the host must contain a `.` or a `:`, or be
/// `localhost`.
///
/// ```swift
/// let r = try ImageReference(parsing: "127.0.0.1:5000/releases/example-node:0.1.0")
/// // r.host == "127.0.0.1:5000", r.repository == "releases/example-node", r.tag == "0.1.0"
/// ```
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// Host and optional port, as written (`registry.example.com`, `127.0.0.1:5000`, `[::1]:5000`).
    public var host: String
    /// The repository name (`<name>` in the distribution spec): lowercase path components.
    public var repository: String
    public var tag: String?
    /// `sha256:` and 64 lowercase hex digits.
    public var digest: String?

    public init(host: String, repository: String, tag: String?, digest: String?) {
        self.host = host
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    public init(parsing text: String) throws(RegistryError) {
        func fail(_ why: String) -> RegistryError {
            RegistryError(
                .reference, reference: text, why,
                hint:
                    "write HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:HEX, e.g. 127.0.0.1:5000/example-node:0.1.0")
        }
        guard text.utf8.count <= 512 else { throw fail("longer than 512 bytes") }
        guard let slash = text.firstIndex(of: "/") else { throw fail("no registry host ('HOST/' is missing)") }
        let host = String(text[..<slash])
        var rest = String(text[text.index(after: slash)...])
        if let problem = ImageReference.hostProblem(host) {
            throw fail("'\(host)' is not a registry host (\(problem))")
        }
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let d = String(rest[rest.index(after: at)...])
            guard OCIDigest.isValid(d) else {
                throw fail("'\(d)' is not a digest (expected sha256: and 64 lowercase hex)")
            }
            digest = d
            rest = String(rest[..<at])
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let t = String(rest[rest.index(after: colon)...])
            guard ImageReference.isValidTag(t) else {
                throw fail("'\(t)' is not a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})")
            }
            tag = t
            rest = String(rest[..<colon])
        }
        guard ImageReference.isValidRepository(rest) else {
            throw fail(
                "'\(rest)' is not a repository name (lowercase letters, digits and . _ - between them, '/'-separated)")
        }
        self.init(host: host, repository: rest, tag: tag, digest: digest)
    }

    public var description: String {
        host + "/" + repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    /// What `GET /v2/NAME/manifests/REFERENCE` takes: the digest when there is one, else the tag.
    public var manifestReference: String? { digest ?? tag }

    /// The same repository at `digest` (the tag dropped): what a verifier reads once a tag is resolved.
    public func pinned(to digest: String) -> ImageReference {
        ImageReference(host: host, repository: repository, tag: nil, digest: digest)
    }

    /// The host name without port and IPv6 brackets.
    public var hostname: String {
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<end])
        }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    /// `localhost`, 127.0.0.0/8 or ::1: the only hosts `--plain-http` may talk to.
    public var isLoopback: Bool { ImageReference.isLoopback(hostname: hostname) }

    public static func isLoopback(hostname: String) -> Bool {
        let name = hostname.lowercased()
        if name == "localhost" || name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCIIDigitCharacter) && (Int(p) ?? 256) <= 255
        }
    }

    /// Why `host` (`NAME[:PORT]` or `[IPV6][:PORT]`) is not a registry host, or nil when it is one.
    static func hostProblem(_ host: String) -> String? {
        var name = Substring(host)
        var hasPort = false
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return "the IPv6 address has no closing ']'" }
            let inner = host[host.index(after: host.startIndex)..<end]
            guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" }) else {
                return "'\(inner)' is not an IPv6 address (hex digits and ':')"
            }
            let after = host[host.index(after: end)...]
            if after.isEmpty { return nil }
            guard after.first == ":" else { return "only ':PORT' may follow the IPv6 address" }
            return portProblem(after.dropFirst())
        }
        if let colon = host.lastIndex(of: ":") {
            if let problem = portProblem(host[host.index(after: colon)...]) { return problem }
            name = host[..<colon]
            hasPort = true
        }
        guard !name.isEmpty else { return "the host name is empty" }
        guard name.utf8.count <= 253 else { return "the host name is longer than 253 bytes" }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty, label.count <= 63, label.first != "-", label.last != "-",
                label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
            else {
                return "'\(label)' is not a host name label (1 to 63 ASCII letters, digits and inner '-')"
            }
        }
        guard hasPort || labels.count > 1 || name == "localhost" else {
            return "it needs a '.' or a ':PORT', or is 'localhost'"
        }
        return nil
    }

    /// Why `text` is not a TCP port (a decimal number from 1 to 65535), or nil when it is one.
    private static func portProblem(_ text: Substring) -> String? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCIIDigitCharacter), let n = Int(text), n > 0,
            n < 65536
        else { return "port '\(text)' is not a number from 1 to 65535" }
        return nil
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 bytes.
    static func isValidRepository(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        for component in name.split(separator: "/", omittingEmptySubsequences: false) {
            let bytes = Array(component.utf8)
            guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
            var i = 0
            while i < bytes.count {
                let c = bytes[i]
                if isAlnum(c) {
                    i += 1
                    continue
                }
                // A separator run: ".", "_", "__" or one or more "-", each between alphanumerics.
                var j = i
                while j < bytes.count, !isAlnum(bytes[j]) { j += 1 }
                let run = bytes[i..<j]
                let ok =
                    run.elementsEqual([UInt8(ascii: ".")]) || run.elementsEqual([UInt8(ascii: "_")])
                    || run.elementsEqual([UInt8(ascii: "_"), UInt8(ascii: "_")])
                    || run.allSatisfy { $0 == UInt8(ascii: "-") }
                guard ok else { return false }
                i = j
            }
        }
        return true
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    /// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func word(_ c: UInt8) -> Bool {
            isAlnum(c) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || c == UInt8(ascii: "_")
        }
        return word(first) && bytes.allSatisfy { word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

/// `sha256:HEX` digests (OCI image spec, "Digests"); the only algorithm this client writes or accepts.
public enum OCIDigest {
    public static let prefix = "sha256:"

    public static func isValid(_ text: String) -> Bool {
        guard text.hasPrefix(prefix) else { return false }
        let hex = text.utf8.dropFirst(prefix.utf8.count)
        return hex.count == 64
            && hex.allSatisfy {
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
            }
    }

    public static func of(_ bytes: [UInt8]) -> String { prefix + Digest.sha256(bytes).hex }

    public static func from(sha256Hex hex: String) -> String { prefix + hex }

    /// The 64 hex digits.
    public static func hex(_ digest: String) -> String { String(digest.dropFirst(prefix.count)) }

    /// The referrers tag schema's tag for a subject digest: `sha256-HEX`.
    public static func fallbackTag(_ digest: String) -> String { "sha256-" + hex(digest) }
}
