import ArgumentParser

struct TDXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tdx",
        abstract: "Intel TDX: MRTD and RTMR0-3.",
        subcommands: [])
}
