import ArgumentParser

struct SGXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgx",
        abstract: "Intel SGX: MRENCLAVE, SIGSTRUCT and MRSIGNER.",
        subcommands: [])
}
