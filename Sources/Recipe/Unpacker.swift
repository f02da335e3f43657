import Archive
import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lays an input out as a step sees it at `/inputs/NAME` (`Recipes/README.md`, "Inputs"): `none` puts
/// the file there under its own name (a hard link to the cache, or a copy); `zip` and `tar` extract the
/// archive (libarchive, any compression); `deb` extracts the package's `data.tar.*`; `image` flattens a
/// docker-archive or OCI image as `docker export` would; `source` unpacks a Debian source package with
/// `dpkg-source -x` (``DebianSource``). Archives are extracted by the Archive module's
/// `ArchiveExtraction`, which refuses absolute names, `..`, links that leave the tree, devices, fifos and
/// duplicate paths; its errors come back as ``RecipeError``s naming the input, then the archive and the
/// entry. Permission bits are kept without setuid, setgid and sticky; owners are ignored. Path inputs are
/// copied as they are (the sandbox may bind-mount ``ResolvedInput/file`` instead).
///
/// ```swift
/// try Unpacker.unpack(resolved, into: "work/inputs/zig")
/// ```
public enum Unpacker {
    /// Unpacks `resolved` into `directory`, which is created and must not exist yet.
    public static func unpack(_ resolved: ResolvedInput, into directory: String) throws {
        if FileStatus(directory) != nil {
            throw RecipeError(.io, file: directory, "already exists; unpack into a new directory")
        }
        let input = resolved.input
        let archiveName = input.fileName
        if input.localPath != nil, input.kind == .path {
            if FileStatus.isDirectory(resolved.file) {
                try FileSystem.copyTree(from: resolved.file, to: directory)
            } else {
                try FileTree.makeDirectories(directory)
                try FileSystem.copyFile(
                    from: resolved.file, to: directory + "/" + archiveName, mode: fileMode(resolved.file))
            }
            return
        }
        let format: ArchiveExtraction.Format
        switch input.unpack {
        case .none:
            try FileTree.makeDirectories(directory)
            let target = directory + "/" + archiveName
            if link(resolved.file, target) != 0 {
                do {
                    try FileSystem.copyFile(from: resolved.file, to: target, mode: 0o644)
                } catch {
                    FileTree.removeTree(directory)
                    throw error
                }
            }
            return
        case .source:
            try unpackSource(resolved, into: directory)
            return
        case .zip: format = .zip
        case .tar: format = .tar
        case .deb: format = .deb
        case .image: format = .image
        }
        try FileTree.makeDirectories(directory)
        do {
            try ArchiveExtraction.extract(resolved.file, format: format, name: archiveName, into: directory)
        } catch let error as ArchiveError {
            FileTree.removeTree(directory)
            throw RecipeError(.unpack, "input '\(input.name)': \(error)")
        } catch {
            FileTree.removeTree(directory)
            throw error
        }
    }

    static func fileMode(_ path: String) -> mode_t {
        var st = stat()
        guard stat(path, &st) == 0 else { return 0o644 }
        return mode_t(st.st_mode & 0o777)
    }
}
