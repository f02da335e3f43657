import Builder

/// Why a rebuild or comparison cannot go on: a checkout that is not the release's, a folder `rebuild
/// --vary` did not make, inputs that cannot be compared, a directory too deep or too large. `message` is the
/// one line shown after `Error: `; `remedy` says what to do without naming command-line flags: the CLI adds
/// the flags that apply, from `kind`.
///
/// ```swift
/// do { _ = try Comparer.compareFiles("a.eif", "b.cpio") } catch let error as RebuildError { print(error) }
/// ```
public typealias RebuildError = Refusal<RebuildErrorKind>

/// What a ``RebuildError`` is about: the CLI chooses the flags its hint names from it.
public enum RebuildErrorKind: String, Sendable, Hashable {
    /// The release's recipe or lock file is not in the checkout.
    case notInCheckout
    /// The checkout's recipe or lock file has another sha256 than the release's.
    case checkoutDiffers
    /// The folder for the varied builds exists and was not made by a varied rebuild.
    case foreignVaryFolder
    /// Artifact directories were given for inputs that are not two release documents.
    case artifactDirectories
    /// The two inputs are of different kinds.
    case kindsDiffer
    /// A directory is too deep or holds too many entries to compare.
    case tooLarge
}
