import ArgumentParser
import EnclaveCore

@main
struct EnclaveKit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enclavekit",
        abstract: "Build, measure, sign and check confidential-computing enclave images.",
        discussion: """
            Measurements are computed offline, without TEE hardware: AWS Nitro PCR0/1/2/8, \
            Intel SGX MRENCLAVE/MRSIGNER, Intel TDX MRTD/RTMR0-3, AMD SEV-SNP launch digest.

            Examples:
              enclavekit measure image.eif
              enclavekit eif build --kernel bzImage --cmdline "console=ttyS0" --ramdisk init.cpio --output image.eif
              enclavekit eif describe image.eif --json
            """,
        version: EnclaveKitVersion.string,
        subcommands: [
            BuildCommand.self,
            RebuildCommand.self,
            MeasureCommand.self,
            EIFCommand.self,
            SGXCommand.self,
            TDXCommand.self,
            SNPCommand.self,
            AttestCommand.self,
            KeygenCommand.self,
            SignCommand.self,
            VerifyCommand.self,
            CompareCommand.self,
            LockCommand.self,
        ]
    )
}
