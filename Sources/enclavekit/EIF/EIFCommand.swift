import ArgumentParser

struct EIFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eif",
        abstract: "AWS Nitro Enclaves images: build, describe, ramdisks.",
        subcommands: [RamdiskCommand.self])
}
