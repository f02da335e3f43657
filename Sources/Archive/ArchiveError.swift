/// An archive that cannot be extracted: libarchive cannot read it, it is not the container it was
/// said to be, or one of its entries is refused (``SafeExtractor``).
///
/// The description names the archive, then the entry when there is one, then what was found and what
/// was expected, e.g. `archive 'src.tar': entry 'a/../../evil' contains '..'`. A caller that knows more
/// (which recipe input the archive is) prefixes it.
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
    }

    public var kind: Kind
    /// The archive's name as the caller gave it (for a `.deb`'s data member, `NAME.deb:data.tar.xz`).
    public var archive: String
    /// The entry's name as stored in the archive, for ``Kind/refusedEntry``.
    public var entry: [UInt8]?
    /// What was found and what was expected.
    public var message: String

    public init(_ kind: Kind, archive: String, entry: [UInt8]? = nil, _ message: String) {
        self.kind = kind
        self.archive = archive
        self.entry = entry
        self.message = message
    }

    public var description: String {
        var text = "archive '\(archive)': "
        if let entry { text += "entry '\(String(decoding: entry, as: UTF8.self))' " }
        return text + message
    }
}
