import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Paths as the manifest records them: relative to the repository that holds the recipe (the nearest
/// folder above it with a `.git`), `/`-separated, without `.` or `..`; so the same checkout gives the
/// same manifest wherever it is cloned.
public struct RepositoryPaths: Sendable {
    public let root: String

    public init(recipePath: String) {
        let absolute = Self.absolute(recipePath)
        var dir = Self.parent(absolute)
        var found: String?
        while true {
            if FileStatus(dir + "/.git") != nil {
                found = dir
                break
            }
            if dir == "/" { break }
            dir = Self.parent(dir)
        }
        root = found ?? Self.absolute(".")
    }

    public func relative(_ path: String) -> String {
        let absolute = Self.absolute(path)
        let prefix = root == "/" ? "/" : root + "/"
        return absolute.hasPrefix(prefix) ? String(absolute.dropFirst(prefix.count)) : absolute
    }

    /// An absolute path with `.` and `..` folded (lexically; symlinks are not resolved).
    public static func absolute(_ path: String) -> String {
        var base = ""
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil {
                base = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        var parts: [Substring] = []
        for part in (base + "/" + path).split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
