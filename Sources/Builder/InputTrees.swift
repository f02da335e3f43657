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

    init(cache: InputCache, work: String) {
        self.cache = cache
        self.work = work
    }

    func directory(for resolved: ResolvedInput) throws -> String {
        if let known = directories[resolved.input.name] { return known }
        let result: String
        if resolved.input.kind == .path, FileStatus.isDirectory(resolved.file) {
            result = resolved.file
        } else if resolved.input.unpack == .none {
            // The file alone, under its own name.
            result = work + "/" + resolved.input.name
            try makeDirectory(result)
            let target = result + "/" + resolved.input.fileName
            unlink(target)
            if link(resolved.file, target) != 0 { try copyFile(resolved.file, to: target) }
        } else {
            let final = cache.root + "/unpacked/\(resolved.sha256)-\(resolved.input.unpack.rawValue)"
            if !FileStatus.isDirectory(final) {
                try makeDirectory(cache.root + "/unpacked")
                let staging = cache.root + "/unpacked/.tmp-\(getpid())-\(resolved.input.name)"
                removeTree(staging)
                do {
                    try Unpacker.unpack(resolved, into: staging)
                } catch {
                    removeTree(staging)
                    throw error
                }
                if rename(staging, final) != 0 {
                    // Another build unpacked the same archive first: keep theirs.
                    removeTree(staging)
                    guard FileStatus.isDirectory(final) else {
                        throw SystemError("move into the cache", path: final, errno: errno)
                    }
                }
            }
            result = final
        }
        directories[resolved.input.name] = result
        return result
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
            guard let input = resolved[name] else { throw UsageError("\(what): no input named '\(name)'") }
            if reference.path.isEmpty && expect == .file
                && !(input.input.kind == .path && FileStatus.isDirectory(input.file))
            {
                return input.file
            }
            return try PathResolution.inside(
                root: try unpacked.directory(for: input), relative: reference.path, what: what, expect: expect)
        case .step(let name):
            guard let output = stepOutputs[name] else {
                throw UsageError("\(what): no step named '\(name)' ran", hint: "steps run in the recipe's order")
            }
            return try PathResolution.inside(root: output, relative: reference.path, what: what, expect: expect)
        }
    }

}
