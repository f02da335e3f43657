import Builder
import EnclaveCore
import Rebuild

/// Builder's and Rebuild's refusals as the command line shows them: the library's message and remedy, with
/// the flags that apply (`--out`, `--force`, `--manifest`, `--source`, …) added, as a ``UsageError`` (exit
/// status 1, `hint` in the JSON error object).
enum LibraryErrors {
    static func translated(_ error: any Error) -> any Error {
        switch error {
        case let refusal as BuildRefusal where refusal.kind == .signedManifest:
            UsageError(refusal.message + ", not even with --force", hint: refusal.remedy)
        case let refusal as BuildRefusal: usage(refusal, adding: flags(for: refusal.kind))
        case let refusal as RebuildError: usage(refusal, adding: flags(for: refusal.kind))
        default: error
        }
    }

    /// The refusal with `flags` (the separator after the remedy, then the flags' advice) added to its remedy.
    static func usage<Kind>(_ refusal: Refusal<Kind>, adding flags: (String, String)?) -> UsageError {
        guard let (separator, advice) = flags else { return UsageError(refusal.message, hint: refusal.remedy) }
        return UsageError(refusal.message, hint: refusal.remedy.map { $0 + separator + advice } ?? advice)
    }

    static func flags(for kind: BuildRefusalKind) -> (String, String)? {
        switch kind {
        case .outputNotDirectory: (" or ", "choose another --out")
        case .outputDiffers: (", ", "choose another --out, or pass --force to replace it")
        case .manifestDiffers: (", ", "choose another --manifest, or pass --force to replace it")
        case .rootfs, .reference, .unsupported, .signedManifest: nil
        }
    }

    static func flags(for kind: RebuildErrorKind) -> (String, String)? {
        switch kind {
        case .notInCheckout: (", or ", "pass --source DIR")
        case .foreignVaryFolder: (" or ", "pass another --out; rebuild --vary keeps its builds there")
        case .artifactDirectories: (", or ", "drop --expected-artifacts/--actual-artifacts")
        case .checkoutDiffers, .kindsDiffer, .tooLarge: nil
        }
    }
}
