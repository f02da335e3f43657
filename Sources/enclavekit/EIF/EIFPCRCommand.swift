import ArgumentParser
import EnclaveCore
import Nitro

struct EIFPCRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcr",
        abstract: "Print the PCR a file or a signing certificate would give, as nitro-cli pcr does.",
        discussion: """
            PCR = SHA-384(48 zero bytes ‖ SHA-384(bytes)); for a certificate the bytes are its DER (PCR8). \
            Prints `PCR  <hex>` (or `PCR8  <hex>`); --json prints nitro-cli pcr's JSON ({"PCR": "<hex>"} or \
            {"PCR8": "<hex>"}), and errors as {"error": ..., "file": ...}.

            Examples:
              enclavekit eif pcr --input app.cpio
              enclavekit eif pcr --signing-certificate cert.pem --json | jq -r .PCR8
            """)

    @Option(help: "A file to measure as one PCR.")
    var input: String?

    @Option(name: .customLong("signing-certificate"), help: "A PEM certificate: prints the PCR8 it gives.")
    var signingCertificate: String?

    @Flag(help: "Print nitro-cli pcr's JSON instead of text.")
    var json = false

    func validate() throws {
        guard (input == nil) != (signingCertificate == nil) else {
            throw ValidationError("give exactly one of --input and --signing-certificate")
        }
    }

    func run() throws {
        let result: (String, String)
        if let input {
            result = ("PCR", PCR.extendZero(try FileStream.hash(path: input, .sha384)).hex)
        } else if let signingCertificate {
            let der = try EIFSignature.firstCertificateDER(
                pem: try FileInput.contents(of: signingCertificate, limit: 1 << 20))
            result = ("PCR8", PCR.of(der).hex)
        } else {
            return
        }
        if json {
            Output.json(.object([(result.0, .string(result.1))]))
        } else {
            Output.table([result], indent: "")
        }
    }
}
