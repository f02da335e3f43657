import ArgumentParser
import EnclaveCore
import Measure
import Nitro

struct EIFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eif",
        abstract: "AWS Nitro Enclaves images: build, describe, ramdisks.",
        discussion: """
            Examples:
              enclavekit eif build --kernel bzImage --cmdline "console=ttyS0" --ramdisk bootstrap.cpio \\
                --ramdisk app.cpio --build-time 2024-01-01T00:00:00+00:00 --name node --output node.eif
              enclavekit eif describe node.eif --json
            """,
        subcommands: [
            EIFBuildCommand.self, EIFBuildEnclaveCommand.self, EIFDescribeCommand.self, EIFPCRCommand.self,
            EIFSignCommand.self, RamdiskCommand.self,
        ])
}

/// What the commands that write an EIF print (eif build, eif build-enclave, eif sign): nitro-cli's
/// `{"Measurements": …}` with `json`, else a heading line and the PCRs.
enum EIFReport {
    static func print(_ m: EIFMeasurements, heading: String, json: Bool) {
        if json {
            Output.json(.object([("Measurements", m.json)]))
        } else {
            Swift.print(heading)
            Output.table(EIFFormat.rows(m))
        }
    }
}
