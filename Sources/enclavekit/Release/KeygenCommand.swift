import ArgumentParser
import EnclaveCore

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Create a signing key. (not implemented yet)")

    func run() throws {
        throw UsageError("'enclavekit keygen' is not implemented yet")
    }
}
