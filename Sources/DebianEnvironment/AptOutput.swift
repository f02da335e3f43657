import EnclaveCore
import Recipe

/// Parsers for what apt prints: `apt-get install --print-uris` lines, `apt-cache show` stanzas, the
/// `Date:` of an `InRelease` file, and apt's error lines turned into one-line messages.
///
/// ```swift
/// let uris = try AptOutput.printURIs("'http://debian.mirror.example/debian/pool/main/h/hello/hello_2.10-3_amd64.deb' hello_2.10-3_amd64.deb 53044 MD5Sum:…\n")
/// ```
public enum AptOutput {
    /// One line of `--print-uris`: `'URI' FILE SIZE HASH`.
    public struct URI: Sendable, Hashable {
        /// The URI with its percent-escapes decoded (`+` instead of `%2b`).
        public var uri: String
        public var fileName: String
        public var size: UInt64
        /// The package name: the file name up to its first `_`.
        public var package: String
    }

    /// Parses `--print-uris` output; lines that are not URI lines are errors (apt prints nothing else
    /// with `-qq`).
    public static func printURIs(_ text: String) throws -> [URI] {
        var result: [URI] = []
        for (index, line) in text.split(separator: "\n").enumerated() {
            let here = "apt-get --print-uris, line \(index + 1)"
            guard line.hasPrefix("'") else {
                throw EnvironmentError(.format, "\(here): expected 'URI' FILE SIZE HASH, got '\(line)'")
            }
            guard let close = line.dropFirst().firstIndex(of: "'") else {
                throw EnvironmentError(.format, "\(here): the URI has no closing quote in '\(line)'")
            }
            let raw = String(line[line.index(after: line.startIndex)..<close])
            let rest = line[line.index(after: close)...].split(separator: " ")
            guard rest.count >= 2 else {
                throw EnvironmentError(.format, "\(here): expected FILE SIZE HASH after the URI, got '\(line)'")
            }
            guard let size = UInt64(rest[1]) else {
                throw EnvironmentError(.format, "\(here): the size '\(rest[1])' is not a whole number of bytes")
            }
            guard let uri = percentDecoded(raw) else {
                throw EnvironmentError(.format, "\(here): the URI '\(raw)' has a bad %-escape")
            }
            let fileName = String(rest[0])
            guard let underscore = fileName.firstIndex(of: "_"), fileName.hasSuffix(".deb") else {
                throw EnvironmentError(.format, "\(here): '\(fileName)' is not NAME_VERSION_ARCH.deb")
            }
            result.append(URI(uri: uri, fileName: fileName, size: size, package: String(fileName[..<underscore])))
        }
        return result
    }

    /// RFC 3986 percent-decoding (apt escapes `+`, `:` and `~` in pool file names).
    static func percentDecoded(_ text: String) -> String? {
        var out: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else {
                return nil
            }
            out.append(high << 4 | low)
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// One `apt-cache show` stanza's fields (names lowercased; continuation lines dropped).
    public typealias Stanza = [String: String]

    /// Splits `apt-cache show` output (RFC 822 style stanzas, blank-line separated).
    public static func stanzas(_ text: String) -> [Stanza] {
        var result: [Stanza] = []
        var current: Stanza = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                if !current.isEmpty { result.append(current) }
                current = [:]
                continue
            }
            if line.first == " " || line.first == "\t" { continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            current[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingSpaces()
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// The closure entry for a `--print-uris` line: the stanza of that package whose `Filename` is the
    /// URI's path below `base`, with its version, architecture, size and sha256 checked.
    static func package(for uri: URI, base: String, archive: String, stanzas: [Stanza]) throws
        -> EnvironmentLock.Package
    {
        let prefix = base + "/"
        guard uri.uri.hasPrefix(prefix) else {
            throw EnvironmentError(.format, "apt printed \(uri.uri), which is not below \(prefix)")
        }
        let path = String(uri.uri.dropFirst(prefix.count))
        guard
            let stanza = stanzas.first(where: { $0["package"] == uri.package && $0["filename"] == path }),
            let version = stanza["version"], let architecture = stanza["architecture"], let sha256 = stanza["sha256"],
            let sizeText = stanza["size"], let size = UInt64(sizeText)
        else {
            throw EnvironmentError(
                .format, "apt-cache show \(uri.package) has no stanza with Filename \(path) (and Version, SHA256, Size)"
            )
        }
        let package = EnvironmentLock.Package(
            name: uri.package, version: version, architecture: architecture, sha256: sha256, size: size,
            archive: archive, path: path)
        guard size == uri.size else {
            throw EnvironmentError(.format, "\(package.pin): apt-get says \(uri.size) bytes, apt-cache \(size)")
        }
        try check(package)
        return package
    }

    /// What the lock parser would refuse, refused here first (with the package named).
    static func check(_ package: EnvironmentLock.Package) throws {
        var bad: [String] = []
        if !EnvironmentLock.isDebianVersion(package.version) { bad.append("version '\(package.version)'") }
        if package.architecture != "amd64", package.architecture != "all" {
            bad.append("architecture '\(package.architecture)'")
        }
        if package.sha256.utf8.count != 64 || !package.sha256.utf8.allSatisfy({ hexValue($0) != nil }) {
            bad.append("sha256 '\(package.sha256)'")
        }
        if !EnvironmentLock.isPoolPath(package.path) { bad.append("path '\(package.path)'") }
        if !bad.isEmpty {
            throw EnvironmentError(.format, "the archive gives \(package.name) a \(bad.joined(separator: ", a "))")
        }
    }

    /// The `Date:` field of a Release/InRelease file as RFC 3339 UTC (`2026-11-30T02:21:41Z`); the
    /// field is `Mon, 30 Nov 2026 02:21:41 UTC` (RFC 2822; `UTC`, `GMT`, `Z` or `+0000`).
    public static func releaseDate(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("Date:") {
            return rfc2822(line.dropFirst("Date:".count).trimmingSpaces())
        }
        return nil
    }

    static func rfc2822(_ text: String) -> String? {
        var words = text.split(separator: " ").map(String.init)
        if let first = words.first, first.hasSuffix(",") { words.removeFirst() }
        guard words.count == 5, let day = Int(words[0]), let year = Int(words[2]),
            let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                .firstIndex(of: words[1])
        else { return nil }
        let time = words[3].split(separator: ":")
        guard time.count == 3, let hour = Int(time[0]), let minute = Int(time[1]), let second = Int(time[2]),
            (1...31).contains(day), hour < 24, minute < 60, second < 61, (1970...9999).contains(year)
        else { return nil }
        guard ["UTC", "GMT", "Z", "+0000", "-0000"].contains(words[4]) else { return nil }
        let seconds = CivilTime.seconds(
            year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second)
        return CivilTime.format(seconds: seconds)
    }

    /// The package apt could not find, from `E: Unable to locate package X`,
    /// `E: Package 'X' has no installation candidate` or `E: Couldn't find any package by … 'X'`.
    public static func missingPackage(_ errorOutput: String) -> String? {
        for line in errorOutput.split(separator: "\n") {
            if line.hasPrefix("E: Unable to locate package ") {
                return String(line.dropFirst("E: Unable to locate package ".count)).trimmingSpacesString()
            }
            if line.hasPrefix("E: Package '"), let end = line.dropFirst(12).firstIndex(of: "'") {
                return String(line[line.index(line.startIndex, offsetBy: 12)..<end])
            }
            if line.hasPrefix("E: Couldn't find any package"), line.hasSuffix("'") {
                let quoted = line.dropLast()
                if let start = quoted.lastIndex(of: "'") { return String(quoted[quoted.index(after: start)...]) }
            }
        }
        return nil
    }

    /// The first unmet dependency apt reports: (package, what it depends on), from lines such as
    /// ` hello : Depends: libc6 (>= 2.34) but it is not installable`.
    public static func unmetDependency(_ output: String) -> (package: String, needs: String)? {
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let colon = words.firstIndex(of: ":"), colon > 0, colon + 2 < words.count,
                ["Depends:", "PreDepends:", "Pre-Depends:"].contains(words[colon + 1])
            else { continue }
            return (String(words[colon - 1]), String(words[colon + 2]))
        }
        return nil
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

extension String {
    func trimmingSpacesString() -> String { Substring(self).trimmingSpaces() }
}
