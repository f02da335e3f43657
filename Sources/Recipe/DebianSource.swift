import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `debian-source` inputs (`Recipes/README.md`, "Inputs"): a Debian source package such as
/// `edk2=2022.11-6+deb12u2`, pinned by the sha256 of its `.dsc`. The `.dsc` lists the sha256 of every
/// other file of the package (`Checksums-Sha256`), so that one pin fixes all of them; each is checked
/// against it after the download and again before unpacking. The files come from apt's configured
/// sources for the input's `suite` (`SUITE`, `SUITE-updates`, `SUITE-security`), read as `deb-src`
/// with a private apt state (lists, cache, status) in a temporary directory, never the host's; apt
/// checks them against the signed `Sources` index on the way. The step sees the tree that
/// `dpkg-source -x` unpacks (upstream tarball, Debian tarball, Debian's patches applied).
///
/// ```swift
/// let files = try DebianSource.files(inDSC: bytes, name: "edk2_2022.11-6+deb12u2.dsc")
/// // [edk2_2022.11.orig.tar.xz (64257dd8…), edk2_2022.11-6+deb12u2.debian.tar.xz (a1d84811…)]
/// ```
public enum DebianSource {
    /// One file a `.dsc` lists in its `Checksums-Sha256` field.
    public struct File: Sendable, Hashable {
        public var name: String
        public var size: UInt64
        public var sha256: String

        public init(name: String, size: UInt64, sha256: String) {
            self.name = name
            self.size = size
            self.sha256 = sha256
        }
    }

    /// The fields of a `.dsc` that are checked: `Source`, `Version`, `Format` and the files.
    public struct Control: Sendable, Hashable {
        public var source: String
        public var version: String
        public var format: String
        public var files: [File]
    }

    /// `name_version.dsc` (the version without its epoch), as Debian names the file.
    public static func dscName(_ source: String) -> String {
        let (package, version) = RecipeParser.splitDebian(source)
        return "\(package)_\(withoutEpoch(version)).dsc"
    }

    static func withoutEpoch(_ version: String) -> String {
        guard let colon = version.firstIndex(of: ":") else { return version }
        return String(version[version.index(after: colon)...])
    }

    /// Recipe checks for a debian-source input (`RecipeParser`).
    static func check(source: String, suite: String?, unpack: String?, _ f: Fields) throws {
        let (package, version) = RecipeParser.splitDebian(source)
        guard RecipeParser.isDebianPackage(package), !version.isEmpty,
            version.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".+~:-".contains($0)) })
        else {
            throw f.bad(
                "source",
                "'\(source)' is not a Debian source package: expected name=version, e.g. edk2=2022.11-6+deb12u2")
        }
        guard let suite else {
            throw f.missing("suite", "the Debian release whose source archives hold the package, e.g. \"bookworm\"")
        }
        guard RecipeParser.isValidName(suite) else {
            throw f.bad("suite", "'\(suite)' is not a Debian release name (bookworm, trixie, …)")
        }
        if let unpack, unpack != UnpackMode.source.rawValue {
            throw f.bad(
                "unpack", "a debian-source input is unpacked by dpkg-source: remove unpack or set it to \"source\"")
        }
    }

    // MARK: - The .dsc

    /// Parses a `.dsc` (Debian policy §5.4; an OpenPGP clear-signed message or plain): the fields
    /// `Format`, `Source`, `Version` and `Checksums-Sha256`, whose lines are `SHA256 SIZE NAME`. A file
    /// name must be a plain name (no `/`), as dpkg-source requires.
    public static func control(ofDSC bytes: [UInt8], name: String) throws -> Control {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RecipeError(.badValue, file: name, "is not UTF-8 text; expected a Debian source control file (.dsc)")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        var firstLine = 1
        if lines.first == "-----BEGIN PGP SIGNED MESSAGE-----" {
            // Armor headers (`Hash: …`) end at the first empty line; the signature starts the trailer.
            guard let blank = lines.firstIndex(where: { $0.isEmpty }) else {
                throw RecipeError(.badValue, file: name, "the signed message has no empty line after its header")
            }
            guard let end = lines.firstIndex(of: "-----BEGIN PGP SIGNATURE-----"), end > blank else {
                throw RecipeError(.badValue, file: name, "the signed message has no signature block")
            }
            firstLine = blank + 2
            lines = Array(lines[(blank + 1)..<end])
        }
        var fields: [String: (value: String, line: Int)] = [:]
        var current: String?
        for (index, line) in lines.enumerated() {
            let number = firstLine + index
            if line.isEmpty {
                if !fields.isEmpty { break }
                continue
            }
            if line.first == " " || line.first == "\t" {
                guard let key = current, let field = fields[key] else {
                    throw RecipeError(.badValue, file: name, line: number, "a continuation line outside a field")
                }
                fields[key] = (field.value + "\n" + line.drop { $0 == " " || $0 == "\t" }, field.line)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw RecipeError(.badValue, file: name, line: number, "expected 'Field: value'")
            }
            let key = line[..<colon].lowercased()
            guard fields[key] == nil else {
                throw RecipeError(.badValue, file: name, line: number, "field '\(line[..<colon])' appears twice")
            }
            fields[key] = (String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }), number)
            current = key
        }
        func field(_ key: String, _ shown: String) throws -> (value: String, line: Int) {
            guard let value = fields[key] else {
                throw RecipeError(.badValue, file: name, "has no \(shown) field; is it a .dsc?")
            }
            return value
        }
        let source = try field("source", "Source").value
        let version = try field("version", "Version").value
        let format = try field("format", "Format").value
        let checksums = try field("checksums-sha256", "Checksums-Sha256")
        var files: [File] = []
        var seen = Set<String>()
        for (offset, line) in checksums.value.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.isEmpty {
            let number = checksums.line + offset
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 3, RecipeParser.isSHA256(String(words[0])), let size = UInt64(words[1]) else {
                throw RecipeError(
                    .badValue, file: name, line: number,
                    "Checksums-Sha256: expected 'SHA256 SIZE NAME' (64 lowercase hex digits, a decimal size)")
            }
            let fileName = String(words[2])
            guard isPlainName(fileName) else {
                throw RecipeError(
                    .unsafePath, file: name, line: number, "Checksums-Sha256: '\(fileName)' is not a plain file name")
            }
            guard seen.insert(fileName).inserted else {
                throw RecipeError(.badValue, file: name, line: number, "Checksums-Sha256: '\(fileName)' appears twice")
            }
            files.append(File(name: fileName, size: size, sha256: String(words[0])))
        }
        guard !files.isEmpty else {
            throw RecipeError(.badValue, file: name, line: checksums.line, "Checksums-Sha256 lists no files")
        }
        return Control(source: source, version: version, format: format, files: files)
    }

    /// The files of a `.dsc` (its `Checksums-Sha256`).
    public static func files(inDSC bytes: [UInt8], name: String) throws -> [File] {
        try control(ofDSC: bytes, name: name).files
    }

    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.hasPrefix("-")
            && name.utf8.allSatisfy {
                isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "~")
                    || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
            }
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Reads and checks the `.dsc` at `path` for `input`: its `Source` and `Version` must be the input's.
    static func control(of input: RecipeInput, dsc path: String) throws -> Control {
        let bytes = try FileInput(path: path).readAll(limit: 1 << 20, format: "Debian source control file")
        let name = input.fileName
        let control = try control(ofDSC: bytes, name: name)
        let (package, version) = RecipeParser.splitDebian(input.source)
        guard control.source == package, control.version == version else {
            throw RecipeError(
                .badValue, file: name,
                "is the source package \(control.source)=\(control.version), but input '\(input.name)' names "
                    + "\(package)=\(version)")
        }
        return control
    }

    /// Checks that `path` holds `file` (size and sha256); the error names the input and both digests.
    static func verify(_ file: File, at path: String, input: RecipeInput) throws {
        guard let st = try FileSystem.lstatIfPresent(path), FileSystem.type(of: st.st_mode) == .regular else {
            throw RecipeError(
                .fetch, "input '\(input.name)' (\(input.summary)): \(file.name), listed in the .dsc, is missing")
        }
        let digest = try FileStream.hash(path: path, .sha256).hex
        guard UInt64(st.st_size) == file.size, digest == file.sha256 else {
            throw RecipeError(
                .pinMismatch,
                "input '\(input.name)' (\(input.summary)): \(file.name) has \(st.st_size) bytes with sha256 \(digest), "
                    + "but \(input.fileName) lists \(file.size) bytes with sha256 \(file.sha256)")
        }
    }

    // MARK: - apt's sources, as deb-src

    /// A `deb-src` sources file (deb822) for `suite`, `suite-updates` and `suite-security`, made from the
    /// host's `deb` entries for them (``AptSources/host(environment:root:)``: `ENCLAVEKIT_APT_SOURCES`,
    /// from `environment` or this process's, when set, else `/etc/apt`). `Signed-By` is kept.
    static func sourceStanzas(suite: String, environment: [String: String]) throws -> String {
        let override = environment["ENCLAVEKIT_APT_SOURCES"].map { ["ENCLAVEKIT_APT_SOURCES": $0] }
        let sources = try AptSources.host(environment: override)
        let out = AptSources.deb822(sources.entries(forSuite: suite), type: "deb-src")
        guard !out.isEmpty else {
            throw RecipeError(
                .fetch,
                "apt has no source for \(suite), \(suite)-updates or \(suite)-security in "
                    + "\(sources.files.joined(separator: ", ")); add one (or name a sources file in ENCLAVEKIT_APT_SOURCES)"
            )
        }
        return out
    }
}
