import ArgumentParser
import EnclaveCore

struct RamdiskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ramdisk",
        abstract: "Write the bootstrap or app ramdisk as nitro-cli's linuxkit does (not implemented yet).")

    func run() throws {
        throw UsageError("'enclavekit eif ramdisk' is not implemented yet")
    }
}
