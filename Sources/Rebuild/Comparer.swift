import Archive
import Builder
import Dispatch
import EnclaveCore
import Nitro
import Recipe
import Release

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The drill-down comparison behind `enclavekit compare` and `enclavekit rebuild` (issue #7 item 5):
/// release manifest field → artifact → EIF section → cpio/tar entry → field, with a short unified
/// diff for text entries and the first differing offset for binary ones.
///
/// Inputs are read once in bounded memory: whole files are hashed first (both at once, one per core)
/// and only files that differ are opened as EIF, cpio or tar; archive members are hashed while they
/// are read, and their bytes are read again only for the entries that differ.
///
/// ```swift
/// let report = try Comparer.compareFiles("expected/app.eif", "rebuilt/app.eif")
/// if !report.identical { print(report.render()) }
/// ```
public struct Comparer: Sendable {
    /// What to compare and how much to print.
    public struct Options: Sendable {
        /// Differences listed before the rest are only counted (``ComparisonReport/omitted``).
        public var maxDifferences = 1000
        /// Hand differing entries to `diffoscope` when it is installed.
        public var diffoscope = false
        /// Text entries up to this size get a unified diff.
        public var textLimit = 1 << 20
        /// Lines of unified diff per entry.
        public var diffLines = 40
        /// Bytes of diffoscope output kept per entry.
        public var diffoscopeLimit = 64 << 10
        /// diffoscope runs per comparison (each can take a while).
        public var diffoscopeRuns = 8
        /// For two directories on disk: also compare each entry's uid, gid and mtime (inside archives
        /// they are always compared).
        public var directoryMetadata = true
        /// Where to look up the file listings of `path` inputs by tree digest (Recipe's `InputCache.listing(sha256:)`;
        /// `build` and `lock` keep them there), to name the files in which two source trees differ.
        public var inputCache: InputCache?

        public init() {}
    }

    /// What a path holds, detected from its content.
    public enum InputKind: String, Sendable {
        case eif = "EIF"
        case cpio = "cpio archive"
        case tar = "tar archive"
        case json = "release document"
        case directory
        case file
    }

    public var options: Options

    public init(options: Options = Options()) { self.options = options }

    /// Compares two inputs of the same kind: EIFs, cpio archives, tar archives, release documents
    /// (manifests, DSSE envelopes or Sigstore bundles: their manifests are compared), directories or
    /// any two files (bytes). Throws on unreadable or malformed input and on two kinds that cannot be
    /// compared.
    public static func compareFiles(_ a: String, _ b: String, options: Options = Options()) throws -> ComparisonReport {
        try Comparer(options: options).compareFiles(a, b)
    }

    /// Compares two release manifests field by field; when both artifact directories are given, an
    /// artifact whose sha256 differs is compared file against file (`DIR/<artifact name>`).
    public static func compareManifests(
        expected: ReleaseManifest, actual: ReleaseManifest, expectedArtifacts: String? = nil,
        actualArtifacts: String? = nil, options: Options = Options()
    ) throws -> ComparisonReport {
        try Comparer(options: options).compareManifests(
            expected: expected, actual: actual, expectedArtifacts: expectedArtifacts, actualArtifacts: actualArtifacts)
    }

    public func compareFiles(_ a: String, _ b: String) throws -> ComparisonReport {
        let session = Session(options: options)
        try session.compareTop(a, b)
        return session.collector.report
    }

    /// ``compareFiles(_:_:)``, and for two release documents with both artifact directories given,
    /// ``compareManifests(expected:actual:expectedArtifacts:actualArtifacts:)`` on their manifests.
    public func compare(
        _ a: String, _ b: String, expectedArtifacts: String?, actualArtifacts: String?
    ) throws -> ComparisonReport {
        guard let expectedArtifacts, let actualArtifacts else { return try compareFiles(a, b) }
        let session = Session(options: options)
        guard try Comparer.detectKind(a) == .json, try Comparer.detectKind(b) == .json else {
            throw RebuildError(
                .artifactDirectories, "artifact directories only apply to two release documents",
                remedy: "give two manifests, DSSE envelopes or bundles")
        }
        try session.compareDocuments(a, b, expectedArtifacts, actualArtifacts)
        return session.collector.report
    }

    public func compareManifests(
        expected: ReleaseManifest, actual: ReleaseManifest, expectedArtifacts: String? = nil,
        actualArtifacts: String? = nil
    ) throws -> ComparisonReport {
        let session = Session(options: options)
        try session.compareManifests(expected, actual, expectedArtifacts, actualArtifacts)
        return session.collector.report
    }

    /// The kind of `path`: a directory, or a file recognized by its first bytes (`.eif`, `070701`,
    /// a tar header or a compressed tar, `{`); anything else is a plain file.
    public static func detectKind(_ path: String) throws -> InputKind {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SystemError("stat", path: path, errno: errno) }
        if st.st_mode & S_IFMT == S_IFDIR { return .directory }
        let file = try FileInput(path: path)
        let head = try file.read(at: 0, count: Int(min(file.size, 512)), format: "file")
        if head.starts(with: EIFLayout.magic) { return .eif }
        if head.starts(with: Array("070701".utf8)) || head.starts(with: Array("070702".utf8)) { return .cpio }
        if head.count >= 262, Array(head[257..<262]) == Array("ustar".utf8) { return .tar }
        if head.starts(with: [0x1F, 0x8B]) || head.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) {
            if let reader = try? TarReader(TarSource(path: path)), (try? reader.next()) != nil { return .tar }
            return .file
        }
        if let first = head.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }), first == UInt8(ascii: "{") {
            return .json
        }
        return .file
    }
}

/// The sha256 of two files, hashed at the same time on two cores.
enum PairHash {
    static func sha256(_ a: String, _ b: String) throws -> ([UInt8], [UInt8]) {
        let results = Parallel.hash(files: [a, b], .sha256)
        return (try results[0].get(), try results[1].get())
    }
}

/// One comparison: the options, the collector and the diffoscope budget.
final class Session {
    let options: Comparer.Options
    let collector: DifferenceCollector
    private var diffoscopeRuns = 0

    init(options: Comparer.Options) {
        self.options = options
        collector = DifferenceCollector(limit: max(0, options.maxDifferences))
    }

    // MARK: - Files

    /// The top-level inputs: two kinds that differ are an error.
    func compareTop(_ a: String, _ b: String) throws {
        let ka = try Comparer.detectKind(a)
        let kb = try Comparer.detectKind(b)
        guard ka == kb else {
            throw RebuildError(
                .kindsDiffer,
                "cannot compare \(a) (\(article(ka.rawValue))) with \(b) (\(article(kb.rawValue)))",
                remedy: "give two inputs of the same kind: EIFs, cpio or tar archives, release documents or directories"
            )
        }
        try compare(a, b, kind: ka)
    }

    private func article(_ word: String) -> String {
        (["a", "e", "i", "o", "u", "E"].contains(word.prefix(1)) ? "an " : "a ") + word
    }

    /// Two inputs of a known, equal kind.
    func compare(_ a: String, _ b: String, kind: Comparer.InputKind) throws {
        switch kind {
        case .directory:
            if try compareOutputDirectories(a, b) { return }
            try compareEntries(DirectoryListing.entries(root: a), DirectoryListing.entries(root: b), nested: true)
        case .json:
            try compareDocuments(a, b, nil, nil)
        case .eif, .cpio, .tar, .file:
            let (ha, hb) = try PairHash.sha256(a, b)
            guard ha != hb else { return }
            try compareDiffering(a, b, kind: kind, sha: (ha, hb))
        }
    }

    /// Two files of the same kind whose bytes differ.
    func compareDiffering(_ a: String, _ b: String, kind: Comparer.InputKind, sha: ([UInt8], [UInt8])) throws {
        let before = collector.count
        switch kind {
        case .eif:
            try EIFComparison(session: self).compare(
                EIFImage(file: FileInput(path: a)), EIFImage(file: FileInput(path: b)))
        case .cpio:
            try compareEntries(
                CPIOStream.entries(of: FileInput(path: a)), CPIOStream.entries(of: FileInput(path: b)), nested: false)
        case .tar:
            try compareEntries(TarListing.entries(path: a), TarListing.entries(path: b), nested: false)
        default:
            break
        }
        if collector.count == before {
            let sa = try FileInput(path: a).size
            let sb = try FileInput(path: b).size
            try contentDifference(
                ["content"], .range(path: a, 0..<sa), sa, sha.0, .range(path: b, 0..<sb), sb, sha.1, name: base(a),
                text: kind == .file)
        }
    }

    /// Two release documents: their manifests, with the artifacts in `dirA`/`dirB` when given.
    func compareDocuments(_ a: String, _ b: String, _ dirA: String?, _ dirB: String?) throws {
        let (ma, envelopeA) = try manifest(a)
        let (mb, envelopeB) = try manifest(b)
        if envelopeA || envelopeB {
            collector.note("signatures are not checked by compare; use enclavekit verify for that")
        }
        try compareManifests(ma, mb, dirA, dirB)
    }

    /// Two build output directories, each holding a `manifest.json` that is a release manifest: the
    /// manifests field by field (as for two manifest files), each differing artifact drilled into, then
    /// the rest of the trees entry by entry (files no manifest lists; the artifacts' type, mode, owner
    /// and time, their content being covered by the manifests). False when either directory has no such
    /// manifest (then they are compared as plain trees).
    func compareOutputDirectories(_ a: String, _ b: String) throws -> Bool {
        let pa = a + "/manifest.json"
        let pb = b + "/manifest.json"
        guard FileStatus(pa)?.type == .regular, FileStatus(pb)?.type == .regular,
            let (ma, _) = try? manifest(pa), let (mb, _) = try? manifest(pb)
        else { return false }
        try compareManifests(ma, mb, a, b)
        let artifacts = Set((ma.artifacts + mb.artifacts).map { Array($0.name.utf8) })
        func rest(_ root: String) throws -> [TreeEntry] {
            try DirectoryListing.entries(root: root).compactMap { entry in
                if entry.path == Array("manifest.json".utf8) { return nil }
                guard artifacts.contains(entry.path), entry.kind == .regular else { return entry }
                var metadata = entry
                metadata.sha256 = nil
                metadata.content = nil
                metadata.size = 0
                return metadata
            }
        }
        try compareEntries(try rest(a), try rest(b), nested: true)
        return true
    }

    private func base(_ path: String) -> String {
        String(path.split(separator: "/").last ?? "input")
    }

    private func manifest(_ path: String) throws -> (ReleaseManifest, Bool) {
        let bytes = try FileInput.contents(of: path, limit: 64 << 20, format: "release document")
        let document = try ReleaseDocument(bytes: bytes, format: path)
        return (try document.manifest(format: path), document.isSigned)
    }

    // MARK: - Content

    /// Records that two byte streams differ, with a unified diff for text (when `text` and both are
    /// small valid UTF-8 without NUL) or the first differing offset, and diffoscope's view if asked.
    func contentDifference(
        _ location: [String], _ a: ContentSource, _ sizeA: UInt64, _ shaA: [UInt8]?, _ b: ContentSource,
        _ sizeB: UInt64, _ shaB: [UInt8]?, name: String, text: Bool = true, digest: String = "sha256"
    ) throws {
        func describe(_ size: UInt64, _ sha: [UInt8]?) -> String {
            "\(size) bytes" + (sha.map { ", \(digest) \($0.hex)" } ?? "")
        }
        var detail: [String] = []
        var shown = false
        if text, sizeA <= UInt64(options.textLimit), sizeB <= UInt64(options.textLimit),
            let ba = try a.readAll(limit: options.textLimit), let bb = try b.readAll(limit: options.textLimit),
            TextDiff.isText(ba), TextDiff.isText(bb)
        {
            detail = TextDiff.unified(ba, bb, maxLines: options.diffLines)
            shown = !detail.isEmpty
        }
        if !shown, let offset = try ContentCompare.firstDifference(a, b) {
            detail = ["binary content: first difference at offset \(offset) (0x\(String(offset, radix: 16)))"]
        }
        detail += diffoscope(a, b, name: name)
        collector.add(location, expected: describe(sizeA, shaA), actual: describe(sizeB, shaB), detail: detail)
    }

    /// diffoscope's text report on the two streams, capped, or nothing.
    private func diffoscope(_ a: ContentSource, _ b: ContentSource, name: String) -> [String] {
        guard options.diffoscope else { return [] }
        guard let tool = Diffoscope.locate() else {
            collector.note(Diffoscope.missing)
            return []
        }
        guard diffoscopeRuns < options.diffoscopeRuns else {
            collector.note("diffoscope ran on the first \(options.diffoscopeRuns) differing entries only")
            return []
        }
        diffoscopeRuns += 1
        do {
            return try Diffoscope.run(tool: tool, a, b, name: name, limit: options.diffoscopeLimit)
        } catch {
            return ["diffoscope failed: \(error)"]
        }
    }
}
