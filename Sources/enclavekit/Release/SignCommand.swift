import ArgumentParser
import EnclaveCore

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Sign a release manifest. (not implemented yet)")

    func run() throws {
        throw UsageError("'enclavekit sign' is not implemented yet")
    }
}
