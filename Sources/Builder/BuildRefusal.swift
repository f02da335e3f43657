/// Why a build refuses its inputs or its output before or after running steps: a rootfs entry, a path or
/// reference the recipe cannot have, an unknown target, arch, vmm or variation, a special file, or an
/// output that would replace other bytes. `message` is the one line shown after `Error: `; `remedy` says
/// what to do in the recipe's and the file system's terms, never in a command line's: the CLI adds the
/// flags that apply, from `kind`.
///
/// ```swift
/// do { try tree.addFile(at: "/etc/x", source: file, mode: nil) } catch let refusal as BuildRefusal { print(refusal) }
/// ```
public typealias BuildRefusal = Refusal<BuildRefusalKind>

/// What a ``BuildRefusal`` is about: the CLI chooses the flags its hint names from it.
public enum BuildRefusalKind: String, Sendable, Hashable {
    /// A rootfs entry or base environment the root filesystem cannot be made from.
    case rootfs
    /// A path or input/step reference that does not resolve to what the recipe says it is.
    case reference
    /// A recipe value the builder does not know (target, arch, vmm, variation) or cannot copy.
    case unsupported
    /// The output path exists and is not a directory.
    case outputNotDirectory
    /// The output directory holds a different build of another release.
    case outputDiffers
    /// The manifest path holds a different manifest.
    case manifestDiffers
    /// The manifest is covered by a signature and the build differs: never modified.
    case signedManifest
}

/// A refusal of the builder (``BuildRefusal``) or the rebuilder (`RebuildError`): what it is about, the line
/// shown after `Error: `, and the remedy in the library's terms (the CLI adds its flags from `kind`).
public struct Refusal<Kind: Sendable & Hashable>: Error, Sendable, Hashable, CustomStringConvertible {
    public var kind: Kind
    public var message: String
    public var remedy: String?

    public init(_ kind: Kind, _ message: String, remedy: String? = nil) {
        self.kind = kind
        self.message = message
        self.remedy = remedy
    }

    public var description: String {
        if let remedy { return "\(message) (\(remedy))" }
        return message
    }
}
