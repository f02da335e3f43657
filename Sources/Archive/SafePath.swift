import EnclaveCore

/// Validation of member names read from archives (<doc:ArchiveMemberNames>, issue 3 "bad input"): a name is
/// split into components; `.` and empty components are dropped (so `./bin//sh` is `bin/sh`); an
/// absolute name or a `..` component is rejected, so nothing derived from an archive can point
/// outside the tree it describes.
///
/// ```swift
/// let parts = try SafePath.components(Array("./usr/bin/env".utf8), format: "tar")  // ["usr", "bin", "env"]
/// ```
public enum SafePath {
    /// The components of a relative member name. Throws `FormatError` (`unsafePath`) for an absolute
    /// name or one with a `..` component.
    public static func components(_ name: [UInt8], format: String, file: String? = nil) throws(FormatError)
        -> [[UInt8]]
    {
        if name.first == UInt8(ascii: "/") {
            throw FormatError(
                .unsafePath, format: format,
                "absolute member name \"\(String(decoding: name, as: UTF8.self))\"; expected a relative path",
                file: file)
        }
        var parts: [[UInt8]] = []
        for part in name.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if part.elementsEqual([UInt8(ascii: ".")]) { continue }
            if part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                throw FormatError(
                    .unsafePath, format: format,
                    "member name \"\(String(decoding: name, as: UTF8.self))\" contains \"..\"; it would leave the root",
                    file: file)
            }
            parts.append(Array(part))
        }
        return parts
    }

    /// Whether a symlink at `linkComponents` pointing to `target` stays inside the root when resolved
    /// lexically. Absolute targets are resolved from the root (as inside a chroot), so they stay inside.
    public static func symlinkStaysInside(linkComponents: [[UInt8]], target: [UInt8]) -> Bool {
        if target.first == UInt8(ascii: "/") { return true }
        var depth = linkComponents.count - 1
        for part in target.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if part.elementsEqual([UInt8(ascii: ".")]) { continue }
            if part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                depth -= 1
                if depth < 0 { return false }
            } else {
                depth += 1
            }
        }
        return true
    }

    /// Joins components with `/`.
    static func join(_ parts: [[UInt8]]) -> [UInt8] {
        Array(parts.joined(separator: [UInt8(ascii: "/")]))
    }

    static func text(_ parts: [[UInt8]]) -> String {
        String(decoding: join(parts), as: UTF8.self)
    }
}
