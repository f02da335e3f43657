import ArgumentParser
import Attestation
import EnclaveCore

struct AttestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Check a running node's attestation evidence, optionally against a signed release.",
        discussion: """
            'attest verify' checks Nitro attestation documents, SEV-SNP reports and Intel DCAP quotes \
            (TDX, SGX) offline: pinned roots, certificate chains at a given time, signatures, TCB, \
            debug, freshness and measurements, and with --release that the node runs that release. \
            'attest collect' gets evidence on the node itself (configfs-tsm or /dev/nsm).

            Examples:
              enclavekit attest verify doc.cbor --at 2022-10-13T08:58:02Z
              enclavekit attest verify report.bin --vcek vcek.pem --release release.dsse.json --policy policy.json
              enclavekit attest collect --report-data 00112233 --out report.bin
            """,
        subcommands: [AttestVerifyCommand.self, AttestCollectCommand.self])
}

extension TEE: ExpressibleByArgument {}

/// Hex with an optional 0x (``Hex/decode(_:)`` takes the prefix; stripping it here too let `0x0xab` through).
func parseHex(_ text: String, option: String) throws -> [UInt8] {
    guard let bytes = Hex.decode(text) else {
        throw ValidationError("\(option) '\(text)': expected hex digits (an even number, optional 0x)")
    }
    return bytes
}
