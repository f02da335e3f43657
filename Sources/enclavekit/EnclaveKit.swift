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

            Exit status: 0 success; 1 an error or a check that failed; 3 not reproduced (rebuild, \
            compare); 64 a command line that does not parse; killed by SIGINT, SIGTERM or SIGHUP (130, \
            143, 129 in a shell) after removing its temporary files. With --json, every command prints \
            JSON on stdout, errors included: {"error": "<the text-mode message>", "exit_status": 1, \
            "file": ..., "offset": ..., "kind": ...}, with the same exit status as in text mode. Hex \
            arguments take an optional 0x prefix.
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
            PolicyCommand.self,
            CompareCommand.self,
            LockCommand.self,
            PushCommand.self,
            PullCommand.self,
        ]
    )

    /// swift-argument-parser's entry point, with errors going through ``ErrorReport`` so that under
    /// `--json` every command answers an error with a JSON object and the text mode's exit status.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            ErrorReport.exit(with: error)
        }
    }
}
