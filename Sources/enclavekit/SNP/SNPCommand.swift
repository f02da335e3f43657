import ArgumentParser

struct SNPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snp",
        abstract: "AMD SEV-SNP: launch digest.",
        subcommands: [])
}
