import ArgumentParser
import EnclaveCore
import Measure
import Nitro

struct EIFSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign an existing EIF (nitro-cli sign-eif): PCR0 is signed, PCR8 is added.",
        discussion: """
            Any previous signature is replaced (the section table is rewritten correctly, unlike \
            nitro-cli's, see aws-nitro-enclaves-image-format#54). PCR0, PCR1 and PCR2 do not change.

            Examples:
              enclavekit eif sign node.eif --private-key key.pem --signing-certificate cert.pem --output node.signed.eif
            """)

    @Argument(help: "The EIF to sign.")
    var file: String

    @Option(name: .customLong("private-key"), help: "EC private key (P-256/P-384/P-521 PEM).")
    var privateKey: String

    @Option(name: .customLong("signing-certificate"), help: "The key's X.509 certificate (PEM).")
    var signingCertificate: String

    @Option(help: "Where to write the signed EIF (default: replace FILE).")
    var output: String?

    @Flag(help: "Print nitro-cli's JSON ({\"Measurements\": …}).")
    var json = false

    func run() throws {
        let image = try EIFImage(file: FileInput(path: file))
        let signer = try EIFSigner(privateKeyPath: privateKey, certificatePath: signingCertificate)
        let target = output ?? file
        let m = try EIFBuilder.sign(image, with: signer, to: target)
        EIFReport.print(m, heading: "\(target): signed", json: json)
    }
}
