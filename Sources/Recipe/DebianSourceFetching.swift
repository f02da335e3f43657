import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension InputResolver {
    /// A debian-source input: the `.dsc` by its pin, and every file it lists by its sha256, from the cache
    /// or fetched with `apt-get source --download-only`.
    func resolveSource(_ input: RecipeInput, pin: String?, fetchUnpinned: Bool, origin: String) async throws
        -> ResolvedInput
    {
        if let pin, let dsc = try cache.lookup(sha256: pin), let companions = try cachedCompanions(input, dsc: dsc) {
            return ResolvedInput(input: input, sha256: pin, file: dsc, origin: origin, companions: companions)
        }
        guard pin != nil || fetchUnpinned else { throw unpinned(input) }
        let digest = try await fetch(input)
        if let pin, pin != digest { throw mismatch(input, origin: origin, expected: pin, actual: digest) }
        let dsc = cache.inputPath(sha256: digest)
        guard let companions = try cachedCompanions(input, dsc: dsc) else {
            throw RecipeError(.fetch, "input '\(input.name)' (\(input.summary)): the cache lost files it just stored")
        }
        return ResolvedInput(input: input, sha256: digest, file: dsc, origin: origin, companions: companions)
    }

    private func cachedCompanions(_ input: RecipeInput, dsc: String) throws -> [String: String]? {
        var companions: [String: String] = [:]
        for file in try DebianSource.control(of: input, dsc: dsc).files {
            guard let path = try cache.lookup(sha256: file.sha256) else { return nil }
            companions[file.name] = path
        }
        return companions
    }

    /// Downloads the source package with a private apt state, checks every file against the `.dsc`, adopts
    /// them into the cache and returns the `.dsc`'s sha256.
    func fetchSource(_ input: RecipeInput, into directory: String) async throws -> String {
        let what = "input '\(input.name)' (\(input.summary))"
        let apt = directory + "/apt"
        let download = directory + "/files"
        for sub in ["state/lists/partial", "cache/archives/partial", "sources.list.d"] {
            try FileTree.makeDirectories(apt + "/" + sub)
        }
        try FileTree.makeDirectories(download)
        let sources = try DebianSource.sourceStanzas(suite: input.suite ?? "", environment: environment)
        try AtomicOutput.write(Array(sources.utf8), to: apt + "/sources.list.d/enclavekit.sources")
        try AtomicOutput.write([], to: apt + "/status")
        let options = [
            "-o", "Dir::State=\(apt)/state", "-o", "Dir::State::status=\(apt)/status", "-o", "Dir::Cache=\(apt)/cache",
            "-o", "Dir::Etc::SourceList=\(apt)/sources.list", "-o", "Dir::Etc::SourceParts=\(apt)/sources.list.d",
            "-o", "Debug::NoLocking=true", "-qq",
        ]
        try await ProcessRunner.check(
            aptGet, options + ["update"], environment: .inherit(adding: environment), what: what, as: RecipeError.init)
        try await ProcessRunner.check(
            aptGet, options + ["source", "--download-only", "--only-source", input.source], in: download,
            environment: .inherit(adding: environment), what: what, as: RecipeError.init)
        let dsc = download + "/" + input.fileName
        guard FileStatus(dsc)?.type == .regular else {
            let got = ((try? FileTree.sortedNames(download)) ?? []).map { String(decoding: $0, as: UTF8.self) }
            throw RecipeError(
                .fetch,
                "\(what): apt-get source did not give \(input.fileName) (got \(got.isEmpty ? "nothing" : got.joined(separator: ", ")))"
            )
        }
        let control = try DebianSource.control(of: input, dsc: dsc)
        for file in control.files {
            try DebianSource.verify(file, at: download + "/" + file.name, input: input)
        }
        for file in control.files { _ = try cache.adopt(download + "/" + file.name) }
        return try cache.adopt(dsc)
    }
}

extension Unpacker {
    /// Unpacks a debian-source input with `dpkg-source -x` into `directory` (which must not exist):
    /// the `.dsc` and the files it lists are linked under their names into a scratch directory, each
    /// checked against the `.dsc` first (dpkg-source runs with `--no-check`, which skips its own
    /// signature and checksum checks: the pin of the `.dsc` is the check).
    static func unpackSource(_ resolved: ResolvedInput, into directory: String) throws {
        let input = resolved.input
        let control = try DebianSource.control(of: input, dsc: resolved.file)
        let scratchDirectory = try TemporaryDirectory(prefix: "enclavekit-dsc-")
        defer { withExtendedLifetime(scratchDirectory) {} }
        let scratch = scratchDirectory.path
        func place(_ path: String, as name: String) throws {
            if link(path, scratch + "/" + name) != 0 {
                try FileSystem.copyFile(from: path, to: scratch + "/" + name, mode: 0o644)
            }
        }
        try place(resolved.file, as: input.fileName)
        for file in control.files {
            guard let path = resolved.companions?[file.name] else {
                throw RecipeError(
                    .unpack, "input '\(input.name)': \(file.name), listed in \(input.fileName), was not resolved")
            }
            try DebianSource.verify(file, at: path, input: input)
            try place(path, as: file.name)
        }
        if let slash = directory.lastIndex(of: "/"), slash != directory.startIndex {
            try FileTree.makeDirectories(String(directory[..<slash]))
        }
        let log = scratch + "/dpkg-source.log"
        let status = try SynchronousProcess.run(
            "dpkg-source", ["-x", "--no-check", "--no-copy", scratch + "/" + input.fileName, directory], output: log)
        guard status == 0 else {
            let text = (try? FileInput(path: log).readAll(limit: 1 << 20, format: "log")).map {
                String(decoding: $0, as: UTF8.self)
            }
            FileTree.removeTree(directory)
            throw RecipeError(
                .unpack,
                "input '\(input.name)': dpkg-source -x \(input.fileName) failed (exit status \(status))"
                    + ": \(ProcessRunner.lastLines(text ?? "", 5)) (is dpkg-dev installed?)")
        }
    }
}
