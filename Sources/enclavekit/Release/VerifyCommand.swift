import ArgumentParser
import EnclaveCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Verify a signed release. (not implemented yet)")

    func run() throws {
        throw UsageError("'enclavekit verify' is not implemented yet")
    }
}
