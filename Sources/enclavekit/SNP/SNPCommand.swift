import ArgumentParser

struct SNPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snp",
        abstract: "AMD SEV-SNP: launch digest.",
        discussion: """
            Computes the SEV, SEV-ES and SEV-SNP launch measurements of an OVMF guest offline, as \
            sev-snp-measure does (same flags, same output).

            Examples:
              enclavekit snp measure --mode snp --vcpus 4 --vcpu-type EPYC-v4 --ovmf OVMF.fd
              enclavekit snp measure --mode snp:ovmf-hash --ovmf OVMF.fd
            """,
        subcommands: [SNPMeasureCommand.self])
}
