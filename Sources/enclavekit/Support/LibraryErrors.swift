import Archive
import Attestation
import Builder
import EnclaveCore
import Nitro
import Rebuild
import Release
import SGX
import TDX

/// Library errors as the command line shows them. The libraries' errors carry facts (the path, what was
/// expected) and name no flags; the flags that fix them (`--out`, `--force`, `--manifest`, `--source`,
/// `--rootfs`, `--heap-size`, …) are added here, in one place, as a ``UsageError`` or ``HintedError`` (exit
/// status 1, `hint` in the JSON error object). ``ErrorReport/exit(with:arguments:)`` calls it for every error.
enum LibraryErrors {
    static func translated(_ error: any Error) -> any Error {
        switch error {
        case let error as ArchiveError: withHint(error)
        case let error as SGXError: hinted(error)
        case let error as ReleaseError: hinted(error)
        case let error as NitroError: hinted(error)
        case let error as TDXError: hinted(error)
        case let error as SystemError where error.operation == AtomicOutput.refusedOperation:
            HintedError(
                message: error.description, hint: "choose another output file, or pass --force to replace it",
                kind: "exists", file: error.path)
        case let error as CollectorError:
            UsageError(error.description, hint: "give a 64-byte hash")
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

    /// An archive error whose fix is an option of this command line, as a `UsageError` with that hint; other
    /// archive errors as they are.
    static func withHint(_ error: ArchiveError) -> any Error {
        let hint: String
        switch error.kind {
        case .notADirectory: hint = "pass the root filesystem directory to --rootfs"
        case .nameNotUTF8: hint = "rename it, or build from the image with --image so names are kept as raw bytes"
        case .noCommand:
            hint = "add CMD [\"/app\"] to the Dockerfile, or build from a directory with --rootfs --cmd --env"
        case .malformed, .wrongContainer, .refusedEntry: return error
        }
        return UsageError(error.description, hint: hint)
    }

    /// An SGX error with the flag that fixes it.
    static func hinted(_ error: SGXError) -> any Error {
        switch error {
        case .heapSizeNotPageMultiple(let size):
            HintedError(
                message: "--heap-size \(size) is not a multiple of 4096", hint: "use whole pages, e.g. 4096")
        case .sgxsOutputFromSGXS:
            HintedError(
                message: "--sgxs-out needs --elf or --gramine-manifest", hint: "an SGXS input is already a stream")
        case .publicKeyOnly: HintedError(message: error.description, hint: "pass the private key PEM")
        }
    }

    /// A release error with the flag or command that fixes it; other release errors as they are.
    static func hinted(_ error: ReleaseError) -> any Error {
        let hint: String?
        switch error.kind {
        case .fileExists: hint = "choose another --out, or pass --force to replace it"
        case .attestationExists: hint = "move it away, or write the new one elsewhere with --attestation-out FILE"
        case .keyPathsEqual: hint = "name the private key KEY.pem"
        case .keySpec:
            return HintedError(
                message: "--key " + error.message, hint: "e.g. --key alice=keys/alice.pub.pem",
                kind: error.kind.rawValue)
        case .noKeys: hint = "pass --key NAME=KEY.pub.pem"
        case .expectation: hint = "e.g. --expect nitro.PCR0=6595…"
        case .noRebuilders:
            hint = "add \"rebuilders\": {\"threshold\": K, \"keys\": [...]} to the policy (Manifests/README.md)"
        case .releaseDirectory where error.message.hasPrefix("holds no signed release"):
            hint = error.file.map { "sign it first: enclavekit sign \($0)/manifest.json --key KEY.pem" }
        default: hint = nil
        }
        guard let hint else { return error }
        return HintedError(message: error.description, hint: hint, kind: error.kind.rawValue, file: error.file)
    }
}

extension LibraryErrors {
    /// A Nitro error with the flag or command that fixes it; other Nitro errors as they are.
    static func hinted(_ error: NitroError) -> any Error {
        switch error {
        case .noRamdisk: UsageError(error.description, hint: "pass --ramdisk FILE (the bootstrap ramdisk first)")
        case .keyType:
            UsageError(
                error.description, hint: "create one with: openssl ecparam -name secp384r1 -genkey -noout -out key.pem")
        case .nulInCommandLine, .unreadableInput, .notPEM, .certificate, .certificateMismatch: error
        }
    }

    /// A TDX error with the hint that fixes it.
    static func hinted(_ error: TDXError) -> UsageError {
        switch error {
        case .invalidQEMUVersion: UsageError(error.description, hint: "write it as MAJOR.MINOR, e.g. 9.1 or 10.2")
        case .noTDXSupport: UsageError(error.description, hint: "TDX needs QEMU 8.x TDX trees or QEMU ≥ 9")
        }
    }
}

/// A library error with the hint the command line adds to it: printed as `MESSAGE (HINT)`, as a
/// ``UsageError`` is; `kind` and `file` stay for `--json`.
struct HintedError: Error, CustomStringConvertible {
    var message: String
    var hint: String
    var kind: String? = nil
    var file: String? = nil

    var description: String { "\(message) (\(hint))" }
}
