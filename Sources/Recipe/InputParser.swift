import TOML
import TOMLKit

/// `[inputs.NAME]` tables: kinds, sources, pins, URLs and the name rules they share.
extension RecipeParser {
    static func isHTTPURL(_ text: String) -> Bool {
        for scheme in ["http://", "https://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            return !host.isEmpty && !text.contains(where: { $0.isWhitespace || $0 == "\0" })
        }
        return false
    }

    /// The last path component of an HTTP URL (query and fragment dropped), or nil when it has no path.
    static func urlFileName(_ url: String) -> String? {
        guard let schemeEnd = firstIndex(of: "://", in: url) else { return nil }
        var rest = url[url.index(schemeEnd, offsetBy: 3)...]
        if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<cut] }
        let parts = rest.split(separator: "/")
        guard parts.count > 1, let last = parts.last, last != ".", last != ".." else { return nil }
        return String(last)
    }

    /// `name=version` → (name, version).
    static func splitDebian(_ source: String) -> (String, String) {
        guard let eq = source.firstIndex(of: "=") else { return (source, "") }
        return (String(source[..<eq]), String(source[source.index(after: eq)...]))
    }

    /// `name==version` → (name, version).
    static func splitPyPI(_ source: String) -> (String, String) {
        guard let start = firstIndex(of: "==", in: source) else { return (source, "") }
        return (String(source[..<start]), String(source[source.index(start, offsetBy: 2)...]))
    }

    /// Where `needle` first occurs in `text` (Foundation-free `range(of:)`).
    static func firstIndex(of needle: String, in text: String) -> String.Index? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix(needle) { return index }
            index = text.index(after: index)
        }
        return nil
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64
            && text.utf8.allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }
    }

    func parseInput(name: String, _ f: Fields) throws -> RecipeInput {
        try f.allow(["kind", "source", "sha256", "unpack", "arch", "file", "url", "suite"])
        let kindText = try f.requiredString("kind")
        guard let kind = InputKind(rawValue: kindText) else {
            throw f.bad(
                "kind",
                "'\(kindText)' is not an input kind; use one of \(Self.list(InputKind.allCases.map(\.rawValue)))")
        }
        let source = try f.requiredString("source")
        guard !source.isEmpty else { throw f.bad("source", "must not be empty") }
        let sha256 = try f.string("sha256")
        if let sha256, !Self.isSHA256(sha256) {
            throw f.bad("sha256", "'\(sha256)' is not a sha256: expected 64 lowercase hex digits")
        }
        var unpack = UnpackMode.none
        if let text = try f.string("unpack") {
            guard let mode = UnpackMode(rawValue: text) else {
                throw f.bad(
                    "unpack",
                    "'\(text)' is not an unpack mode; use one of \(Self.list(UnpackMode.allCases.map(\.rawValue)))")
            }
            unpack = mode
        }
        let arch = try f.string("arch")
        let fileName = try f.string("file")
        let url = try f.string("url")
        let suite = try f.string("suite")
        func only(_ key: String, _ value: String?, _ kinds: [InputKind]) throws {
            if value != nil, !kinds.contains(kind) {
                throw f.bad(key, "is only for \(Self.list(kinds.map(\.rawValue))) inputs, not \(kind.rawValue)")
            }
        }
        try only("arch", arch, [.debian])
        try only("file", fileName, [.pypi])
        try only("url", url, [.debian, .pypi, .dockerArchive, .oci])
        try only("suite", suite, [.debianSource])
        if unpack == .source, kind != .debianSource {
            throw f.bad("unpack", "'source' is only for debian-source inputs, not \(kind.rawValue)")
        }
        if let url, !Self.isHTTPURL(url) {
            throw f.bad("url", "'\(url)' is not an http:// or https:// URL")
        }
        switch kind {
        case .path:
            if unpack != .none {
                throw f.bad("unpack", "path inputs are bind-mounted as they are; remove unpack or set it to \"none\"")
            }
            try checkRecipeRelative(source, f)
        case .debian:
            let (package, version) = Self.splitDebian(source)
            guard Self.isDebianPackage(package), !version.isEmpty, !version.contains(where: { $0 == "=" || $0 == "/" }),
                version.allSatisfy({ !$0.isWhitespace })
            else {
                throw f.bad("source", "'\(source)' is not a Debian package: expected name=version, e.g. ovmf=2022.11-6")
            }
            if let arch, !Self.isValidName(arch) {
                throw f.bad("arch", "'\(arch)' is not a Debian architecture (amd64, arm64, all, …)")
            }
        case .pypi:
            let (package, version) = Self.splitPyPI(source)
            guard Self.isPyPIName(package), !version.isEmpty, Self.isPyPIName(version) else {
                throw f.bad(
                    "source", "'\(source)' is not a PyPI requirement: expected name==version, e.g. ziglang==0.13.0")
            }
            guard let fileName else {
                throw f.missing("file", "the exact wheel or sdist file name, which fixes the platform")
            }
            guard !fileName.isEmpty, !fileName.contains("/"), fileName != ".", fileName != "..",
                fileName.hasSuffix(".whl") || fileName.hasSuffix(".tar.gz") || fileName.hasSuffix(".zip")
            else {
                throw f.bad("file", "'\(fileName)' is not a wheel (.whl) or sdist (.tar.gz, .zip) file name")
            }
        case .url:
            guard Self.isHTTPURL(source) else {
                throw f.bad("source", "'\(source)' is not an http:// or https:// URL")
            }
        case .debianSource:
            try DebianSource.check(source: source, suite: suite, unpack: try f.string("unpack"), f)
            unpack = .source
        case .dockerArchive, .oci:
            if !Self.isHTTPURL(source) {
                if source.contains("://") {
                    throw f.bad("source", "'\(source)' is neither a path in the recipe folder nor an http(s) URL")
                }
                try checkRecipeRelative(source, f)
            }
        }
        return RecipeInput(
            name: name, kind: kind, source: source, sha256: sha256, unpack: unpack, arch: arch, file: fileName,
            url: url,
            suite: suite)
    }

    static func isDebianPackage(_ name: String) -> Bool {
        name.utf8.count >= 2 && isLowerAlnum(name.utf8.first ?? 0)
            && name.utf8.allSatisfy {
                isLowerAlnum($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
            }
    }

    static func isPyPIName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-+!".unicodeScalars.contains($0))
            }
    }

    /// A path relative to the recipe folder that stays in it lexically (symlinks are checked on disk).
    func checkRecipeRelative(_ path: String, _ f: Fields) throws {
        if path.hasPrefix("/") {
            throw RecipeError(
                .unsafePath, file: file, table: f.table,
                "source '\(path)' is absolute; a path input is relative to the recipe's folder")
        }
        if path.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw RecipeError(
                .unsafePath, file: file, table: f.table,
                "source '\(path)' contains '..'; a path input may not leave the recipe's folder")
        }
    }
}
