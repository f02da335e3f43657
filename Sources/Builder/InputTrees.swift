import EnclaveCore
import Recipe

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a step or a target sees each input: the directory mounted at `/inputs/NAME`. Archives are
/// unpacked once per (sha256, mode) into the cache's `unpacked/` folder, through a temporary directory
/// and a rename, so concurrent builds share them and a crash leaves nothing half-unpacked.
final class UnpackedInputs: @unchecked Sendable {
    // Used by one build task only; @unchecked because it memoizes directories in a dictionary.
    let cache: InputCache
    let work: String
    private var directories: [String: String] = [:]
    private let emit: BuildEventHandler

    init(cache: InputCache, work: String, emit: @escaping BuildEventHandler = { _ in }) {
        self.cache = cache
        self.work = work
        self.emit = emit
    }

    func directory(for resolved: ResolvedInput) throws -> String {
        if let known = directories[resolved.input.name] { return known }
        let result: String
        if resolved.input.kind == .path, FileStatus.isDirectory(resolved.file) {
            result = resolved.file
        } else if resolved.input.unpack == .none {
            // The file alone, under its own name.
            result = work + "/" + resolved.input.name
            try FileTree.makeDirectories(result)
            let target = result + "/" + resolved.input.fileName
            unlink(target)
            if link(resolved.file, target) != 0 { try copyFile(resolved.file, to: target) }
        } else {
            result = try unpackIfNeeded(resolved)
        }
        directories[resolved.input.name] = result
        return result
    }

    // MARK: Unpacked archives, verified

    // An unpacked tree is derived data, so it is checked against the listing (`TreeDigest`) written when it
    // was unpacked: the whole tree before a step sees it, and each file a target or the rootfs takes from
    // it. A tree that no longer matches is dropped and unpacked again from the (verified) archive.
    private var verifiedTrees: Set<String> = []
    private var listings: [String: [String: String]] = [:]

    private func unpackedPath(_ resolved: ResolvedInput) -> String {
        cache.root + "/unpacked/\(resolved.sha256)-\(resolved.input.unpack.rawValue)"
    }

    private func unpackIfNeeded(_ resolved: ResolvedInput) throws -> String {
        let final = unpackedPath(resolved)
        if FileStatus.isDirectory(final), FileStatus(final + ".listing") != nil { return final }
        FileTree.removeTree(final)
        try FileTree.makeDirectories(cache.root + "/unpacked")
        let staging = cache.root + "/unpacked/.tmp-\(getpid())-\(resolved.input.name)"
        FileTree.removeTree(staging)
        let cleanup = Interruption.removeOnInterrupt(staging)
        defer { Interruption.unregister(cleanup) }
        do {
            try Unpacker.unpack(resolved, into: staging)
            try AtomicOutput.write(try TreeDigest.listing(directory: staging), to: final + ".listing")
        } catch {
            FileTree.removeTree(staging)
            throw error
        }
        if Interruption.critical({ rename(staging, final) }) != 0 {
            // Another build unpacked the same archive first: keep theirs (the listing is the same).
            FileTree.removeTree(staging)
            guard FileStatus.isDirectory(final) else {
                throw SystemError("move into the cache", path: final, errno: errno)
            }
        }
        verifiedTrees.insert(final)
        return final
    }

    private func isUnpackedArchive(_ resolved: ResolvedInput) -> Bool {
        resolved.input.unpack != .none && !(resolved.input.kind == .path)
    }

    /// The input's directory, every file of it checked against its listing first (for a step mount).
    func verifiedDirectory(for resolved: ResolvedInput) throws -> String {
        let dir = try directory(for: resolved)
        guard isUnpackedArchive(resolved), !verifiedTrees.contains(dir) else { return dir }
        let stored = try FileInput.contents(of: dir + ".listing", limit: 256 << 20, format: "listing")
        if try TreeDigest.listing(directory: dir) != stored {
            drop(resolved)
            return try directory(for: resolved)
        }
        verifiedTrees.insert(dir)
        return dir
    }

    /// Checks one file taken from an unpacked input against its listing; returns its (possibly
    /// re-unpacked) host path.
    func verifiedFile(_ relative: String, of resolved: ResolvedInput, at path: String) throws -> String {
        guard isUnpackedArchive(resolved) else { return path }
        let dir = try directory(for: resolved)
        if verifiedTrees.contains(dir) { return path }
        let listing = try listing(of: dir)
        let actual = try FileStream.hash(path: path, .sha256).hex
        if listing[relative] == actual { return path }
        drop(resolved)
        return try directory(for: resolved) + "/" + relative
    }

    private func listing(of dir: String) throws -> [String: String] {
        if let known = listings[dir] { return known }
        let bytes = try FileInput.contents(of: dir + ".listing", limit: 256 << 20, format: "listing")
        var map: [String: String] = [:]
        // Lines are `TYPE MODE SIZE SHA256 PATH` (Recipes/README.md, tree digest).
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 4)
            guard fields.count == 5, fields[0] == [UInt8(ascii: "f")] else { continue }
            map[String(decoding: fields[4], as: UTF8.self)] = String(decoding: fields[3], as: UTF8.self)
        }
        listings[dir] = map
        return map
    }

    private func drop(_ resolved: ResolvedInput) {
        let final = unpackedPath(resolved)
        emit(.note("the unpacked cache of input '\(resolved.input.name)' changed; unpacking it again"))
        FileTree.removeTree(final)
        unlink(final + ".listing")
        listings[final] = nil
        verifiedTrees.remove(final)
        directories[resolved.input.name] = nil
    }

}

/// Turns `input:NAME/PATH` and `step:NAME/PATH` references into host paths, never leaving the input's
/// or step's tree (see ``PathResolution``).
struct ReferenceResolver {
    let resolved: [String: ResolvedInput]
    let unpacked: UnpackedInputs
    let stepOutputs: [String: String]

    func file(_ reference: FileReference) throws -> String {
        try path(reference, expect: .file)
    }

    func directory(_ reference: FileReference) throws -> String {
        try path(reference, expect: .directory)
    }

    private func path(_ reference: FileReference, expect: PathResolution.Kind) throws -> String {
        let what = reference.description
        switch reference.origin {
        case .input(let name):
            guard let input = resolved[name] else {
                throw BuildRefusal(.reference, "\(what): no input named '\(name)'")
            }
            if reference.path.isEmpty && expect == .file
                && !(input.input.kind == .path && FileStatus.isDirectory(input.file))
            {
                return input.file
            }
            let path = try PathResolution.inside(
                root: try unpacked.directory(for: input), relative: reference.path, what: what, expect: expect)
            return expect == .file ? try unpacked.verifiedFile(reference.path, of: input, at: path) : path
        case .step(let name):
            guard let output = stepOutputs[name] else {
                throw BuildRefusal(
                    .reference, "\(what): no step named '\(name)' ran", remedy: "steps run in the recipe's order")
            }
            return try PathResolution.inside(root: output, relative: reference.path, what: what, expect: expect)
        }
    }

}
