import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Creates a directory (and its parents) with mode 0755; an existing directory is fine.
func makeDirectory(_ path: String) throws {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        prefix += part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
            throw SystemError("create the directory", path: prefix, errno: errno)
        }
        prefix += "/"
    }
}

/// Copies a file in bounded chunks to `destination`, atomically, with an explicit mode (never the umask).
func copyFile(_ source: String, to destination: String, mode: mode_t = 0o644) throws {
    let input = try FileInput(path: source)
    let out = try AtomicOutput(path: destination, mode: mode)
    try FileStream.forEachChunk(of: input, ranges: [0..<input.size]) { _, chunk in try out.write(chunk) }
    try out.commit()
}

/// The names in a directory, without `.` and `..`, in no particular order.
func directoryNames(_ path: String) throws -> [String] {
    guard let dir = opendir(path) else { throw SystemError("read the directory", path: path, errno: errno) }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Removes a file tree without following symlinks (used for scratch and staging directories only).
func removeTree(_ path: String) {
    guard let status = FileStatus(path) else { return }
    if status.type == .directory {
        // Make it writable first: sandbox outputs may have read-only directories.
        chmod(path, 0o755)
        for name in (try? directoryNames(path)) ?? [] { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}
