import EnclaveCore
import Release

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `build` may do to an existing output directory and manifest (issue #13 item 2): never replace
/// different content without `--force`, never modify a manifest a signed envelope covers (not even
/// with `--force`), and treat the same bytes as success.
///
/// ```swift
/// let plan = try OutputProtection.plan(staged: staging.path, output: "out/x", manifest: nil, ...)
/// ```
enum OutputProtection {
    /// What to do with the staged output directory.
    enum DirectoryAction: Equatable {
        /// No output yet: move the staged one into place.
        case create
        /// The output already holds every staged file with the same bytes: keep it as it is (files
        /// that are not the build's, such as envelopes, stay too).
        case keep
        /// Replace it; `carry` are files that are not the build's, copied into the staged directory first
        /// (when the output is the same release whose artifacts were damaged).
        case replace(carry: [String], differing: [String])
    }

    /// The suffixes of signed documents that may cover a manifest `NAME.json`: `NAME` + suffix.
    static let signedSuffixes = [".dsse.json", ".sigstore.json", ".intoto.jsonl"]

    /// Compares the staged tree with the existing one: the staged paths that are missing or differ in
    /// `existing`, and the paths in `existing` that are not staged (both relative, sorted).
    static func compare(staged: String, existing: String) throws -> (differing: [String], extra: [String]) {
        var differing: [String] = []
        var extra: [String] = []
        func visit(_ relative: String) throws {
            let s = relative.isEmpty ? staged : staged + "/" + relative
            let e = relative.isEmpty ? existing : existing + "/" + relative
            guard let ss = FileStatus(s) else { return }
            guard let es = FileStatus(e), es.type == ss.type else {
                differing.append(relative)
                return
            }
            switch ss.type {
            case .directory:
                let stagedNames = try FileTree.sortedNames(s)
                for name in stagedNames {
                    try visit(relative.isEmpty ? str(name) : relative + "/" + str(name))
                }
                for name in try FileTree.sortedNames(e) where !stagedNames.contains(name) {
                    extra.append(relative.isEmpty ? str(name) : relative + "/" + str(name))
                }
            case .regular:
                if ss.size != es.size || ss.permissions != es.permissions {
                    differing.append(relative)
                } else if try FileStream.hash(path: s, .sha256) != FileStream.hash(path: e, .sha256) {
                    differing.append(relative)
                }
            case .symlink:
                if (try SymbolicLink.target(of: s)) != (try SymbolicLink.target(of: e)) { differing.append(relative) }
            case .other:
                differing.append(relative)
            }
        }
        try visit("")
        return (differing, extra)
    }

    static func str(_ name: [UInt8]) -> String { String(decoding: name, as: UTF8.self) }

    /// The signed documents next to the manifest `path` (`NAME.dsse.json` … for `NAME.json`) that cover
    /// the bytes it holds now; an envelope that cannot be read counts as covering (it cannot be ruled out).
    static func coveringDocuments(of path: String, in candidates: [String]? = nil) -> [String] {
        guard let current = try? FileInput.contents(of: path, limit: 64 << 20, format: "manifest") else { return [] }
        let stem = path.hasSuffix(".json") ? String(path.dropLast(5)) : path
        let documents = candidates ?? signedSuffixes.map { stem + $0 }
        let canonical = (try? ReleaseManifest(json: current, format: path))?.canonicalBytes ?? current
        return documents.filter { document in
            guard FileStatus(document, followLinks: true) != nil else { return false }
            guard let bytes = try? FileInput.contents(of: document, limit: 64 << 20, format: "envelope"),
                let envelopes = try? ReleaseVerifier.envelopes(bytes: bytes, format: document)
            else { return true }
            return envelopes.contains { _, envelope in
                guard let statement = try? Statement(payload: envelope.payload, format: document) else { return true }
                return statement.manifest.canonicalBytes == canonical
            }
        }
    }

    /// The signed documents inside an output directory (any `*.dsse.json`, `*.sigstore.json`,
    /// `*.intoto.jsonl` at its top level).
    static func signedDocuments(in directory: String) -> [String] {
        let names = ((try? FileTree.sortedNames(directory)) ?? []).map(str)
        return names.filter { name in signedSuffixes.contains { name.hasSuffix($0) } }.map { directory + "/" + $0 }
    }

    /// Refuses to modify a manifest that a signed document covers.
    static func refuseCovered(manifest: String, by documents: [String], recipe: String) throws {
        guard let first = documents.first else { return }
        throw BuildRefusal(
            .signedManifest,
            "\(manifest) is covered by the signed \(first) and this build's manifest differs; a signed manifest "
                + "is never modified",
            remedy: "bump the version in \(recipe) for a new release, or remove \(first) deliberately if this "
                + "release was never published")
    }

    static func listing(_ paths: [String]) -> String {
        let shown = paths.prefix(3).map { $0.isEmpty ? "." : $0 }.joined(separator: ", ")
        return paths.count > 3 ? shown + " and \(paths.count - 3) more" : shown
    }

    /// Decides what to do with the output directory `final`, given the staged tree and the new manifest.
    /// `sameRelease` is true when the existing manifest (wherever it is written) already has the new
    /// manifest's exact bytes: the output is then this release, and staged files that differ are
    /// damaged copies that may be restored.
    static func planDirectory(
        staged: String, final: String, sameRelease: Bool, manifestInside: Bool, force: Bool, recipe: String,
        release: String
    ) throws -> DirectoryAction {
        guard let status = FileStatus(final) else { return .create }
        guard status.type == .directory else {
            throw BuildRefusal(.outputNotDirectory, "\(final) exists and is not a directory", remedy: "remove it")
        }
        let (differing, extra) = try compare(staged: staged, existing: final)
        if differing.isEmpty { return .keep }
        if sameRelease { return .replace(carry: extra, differing: differing) }
        if manifestInside {
            let manifest = final + "/manifest.json"
            try refuseCovered(
                manifest: manifest, by: coveringDocuments(of: manifest, in: signedDocuments(in: final)),
                recipe: recipe)
        }
        guard force else {
            throw BuildRefusal(
                .outputDiffers,
                "\(final) already holds a different build (\(listing(differing)) differ\(differing.count == 1 ? "s" : ""))"
                    + " and \(release) would replace it",
                remedy: "bump the version in \(recipe) for a new release")
        }
        return .replace(carry: [], differing: differing)
    }

    /// Whether the manifest at `path` must be written (false when it already has `bytes`); throws when
    /// it differs and is signed, or differs without `force`.
    static func planManifest(path: String, bytes: [UInt8], force: Bool, recipe: String) throws -> Bool {
        guard FileStatus(path) != nil else { return true }
        let current = try FileInput.contents(of: path, limit: 64 << 20, format: "manifest")
        if current == bytes { return false }
        try refuseCovered(manifest: path, by: coveringDocuments(of: path), recipe: recipe)
        guard force else {
            throw BuildRefusal(
                .manifestDiffers, "\(path) already holds a different manifest",
                remedy: "bump the version in \(recipe) for a new release")
        }
        return true
    }

    /// Copies files that are not the build's (envelopes, notes) from the old output into the staged one.
    static func carry(_ paths: [String], from old: String, to staged: String) throws {
        for relative in paths {
            let source = old + "/" + relative
            let target = staged + "/" + relative
            guard let status = FileStatus(source) else { continue }
            switch status.type {
            case .regular:
                try FileTree.makeDirectories(StagingDirectory.parent(of: target))
                try copyFile(source, to: target, mode: mode_t(status.permissions))
            case .symlink:
                let link = try SymbolicLink.target(of: source)
                let made = (link + [0]).withUnsafeBufferPointer { buffer in
                    buffer.baseAddress.map { base in
                        base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { symlink($0, target) }
                    } ?? -1
                }
                guard made == 0 else { throw SystemError("create the symlink", path: target, errno: errno) }
            case .directory:
                try FileTree.makeDirectories(target)
                let names = try FileTree.sortedNames(source).map { relative + "/" + str($0) }
                try carry(names, from: old, to: staged)
            case .other:
                continue
            }
        }
    }
}
