import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Joins a relative path onto a root, refusing to leave it: every component is looked at with
/// `lstat`, and `..`, absolute parts and symlinks on the way are errors (a step output or an archive
/// could otherwise point the rootfs at any host file).
///
/// ```swift
/// let file = try PathResolution.inside(root: stepOutput, relative: "bin/node", what: "step:node/bin/node")
/// ```
enum PathResolution {
    enum Kind { case file, directory }

    static func inside(root: String, relative: String, what: String, expect: Kind? = nil) throws -> String {
        var path = root
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true)
        for (i, part) in parts.enumerated() {
            guard part != ".", part != ".." else {
                throw BuildRefusal(.reference, "\(what): the path may not contain . or .. components")
            }
            path += "/" + part
            var st = stat()
            guard lstat(path, &st) == 0 else {
                throw BuildRefusal(
                    .reference,
                    "\(what): no such file", remedy: "check the path; the build produced or unpacked no '\(relative)'")
            }
            let type = st.st_mode & S_IFMT
            if type == S_IFLNK {
                throw BuildRefusal(
                    .reference, "\(what): '\(parts[0...i].joined(separator: "/"))' is a symlink; refer to its target")
            }
            if i < parts.count - 1, type != S_IFDIR {
                throw BuildRefusal(.reference, "\(what): '\(parts[0...i].joined(separator: "/"))' is not a directory")
            }
        }
        if let expect {
            var st = stat()
            guard lstat(path, &st) == 0 else { throw SystemError("read", path: path, errno: errno) }
            let type = st.st_mode & S_IFMT
            switch expect {
            case .file where type != S_IFREG:
                throw BuildRefusal(
                    .reference, "\(what): not a regular file", remedy: "end the reference with / for a directory")
            case .directory where type != S_IFDIR:
                throw BuildRefusal(
                    .reference, "\(what): not a directory", remedy: "drop the trailing / to refer to a file")
            default: break
            }
        }
        return path
    }
}
