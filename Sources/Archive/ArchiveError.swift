/// An error of the Archive module that is not a malformed byte stream (those are `FormatError`s with an
/// offset): an archive that cannot be extracted (libarchive cannot read it, it is not the container it
/// was said to be, or one of its entries is refused by ``SafeExtractor``), a directory that cannot be
/// exported as a root filesystem, an image config without a command.
///
/// The description names the archive (or directory), then the entry when there is one, then what was
/// found and what was expected, e.g. `archive 'src.tar': entry 'a/../../evil' contains '..'`. A caller
/// that knows more (which recipe input the archive is) prefixes it; the command line adds a hint naming
/// the option to change where there is one.
///
/// ```swift
/// do { try ArchiveExtraction.extract("src.tar", format: .tar, name: "src.tar", into: "out") }
/// catch let error as ArchiveError { print(error) }
/// ```
public struct ArchiveError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, coarse enough for tests and scripts to match on.
    public enum Kind: String, Sendable, Hashable {
        /// The bytes do not read as the archive format (libarchive's error, a bad image layout).
        case malformed
        /// The archive reads, but is not the container it should be (a `.deb` without `data.tar`).
        case wrongContainer
        /// An entry that would leave the tree, collide with another, or is a device or fifo.
        case refusedEntry
        /// A root filesystem to export (``DirectoryExport``) is not a directory.
        case notADirectory
        /// A file name in a directory to export is not valid UTF-8.
        case nameNotUTF8
        /// An image config has neither `Cmd` nor `Entrypoint` (``ImageConfig/cmdFile()``).
        case noCommand

        /// Whether the error is about an archive file (named as `archive 'NAME'`).
        var isArchive: Bool { self == .malformed || self == .wrongContainer || self == .refusedEntry }
    }

    public var kind: Kind
    /// The archive's name as the caller gave it (for a `.deb`'s data member, `NAME.deb:data.tar.xz`), or
    /// the directory; nil when the caller did not say (an image config).
    public var path: String?
    /// The entry's name as stored in the archive, for ``Kind/refusedEntry``.
    public var entry: [UInt8]?
    /// What was found and what was expected.
    public var message: String

    public init(_ kind: Kind, path: String?, entry: [UInt8]? = nil, _ message: String) {
        self.kind = kind
        self.path = path
        self.entry = entry
        self.message = message
    }

    public var description: String {
        var text = ""
        if let path { text = kind.isArchive ? "archive '\(path)': " : "\(path): " }
        if let entry { text += "entry '\(String(decoding: entry, as: UTF8.self))' " }
        return text + message
    }
}
