import ArgumentParser
import EnclaveCore
import Nitro

struct EIFPCRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcr",
        abstract: "Print the PCR a file or a signing certificate would give, as nitro-cli pcr does.",
        discussion: """
            PCR = SHA-384(48 zero bytes ‖ SHA-384(bytes)); for a certificate the bytes are its DER (PCR8).

            Examples:
              enclavekit eif pcr --input app.cpio
              enclavekit eif pcr --signing-certificate cert.pem
            """)

    @Option(help: "A file to measure as one PCR.")
    var input: String?

    @Option(name: .customLong("signing-certificate"), help: "A PEM certificate: prints the PCR8 it gives.")
    var signingCertificate: String?

    func validate() throws {
        guard (input == nil) != (signingCertificate == nil) else {
            throw ValidationError("give exactly one of --input and --signing-certificate")
        }
    }

    func run() throws {
        if let input {
            let digest = try FileStream.hash(path: input, .sha384)
            Output.json(.object([("PCR", .string(PCR.extendZero(digest).hex))]))
        } else if let signingCertificate {
            let der = try EIFSignature.firstCertificateDER(
                pem: try FileInput.contents(of: signingCertificate, limit: 1 << 20))
            Output.json(.object([("PCR8", .string(PCR.of(der).hex))]))
        }
    }
}
