import Foundation
import TestSupport
import Testing

/// The options that several commands take from one `@OptionGroup` (Sources/enclavekit/Support/OptionGroups.swift)
/// keep, in each command's `--help`, the name, the help text and whether they are required that the command
/// declared itself before the group existed.
@Suite struct OptionGroupCLITests {
    struct Case: CustomTestStringConvertible, Sendable {
        let command: [String]
        /// The option with its value name, as USAGE and OPTIONS show it.
        let option: String
        let help: String
        let required: Bool
        var testDescription: String { command.joined(separator: " ") + " " + option }
    }

    static let cases: [Case] = [
        Case(command: ["eif", "build"], option: "--output <output>", help: "The EIF to write.", required: true),
        Case(
            command: ["eif", "build-enclave"], option: "--output <output>", help: "The EIF to write.", required: true),
        Case(
            command: ["eif", "ramdisk", "bootstrap"], option: "--output <output>", help: "Where to write the ramdisk.",
            required: true),
        Case(
            command: ["eif", "ramdisk", "app"], option: "--output <output>", help: "Where to write the ramdisk.",
            required: true),
        Case(
            command: ["sgx", "sign"], option: "--out <out>", help: "Where to write the 1808-byte SIGSTRUCT.",
            required: true),
        Case(
            command: ["sgx", "catsig"], option: "--out <out>", help: "Where to write the 1808-byte SIGSTRUCT.",
            required: true),
        Case(command: ["rebuild"], option: "--json", help: "Print JSON instead of text.", required: false),
        Case(command: ["measure"], option: "--json", help: "Print JSON instead of text.", required: false),
    ]

    @Test(arguments: cases) func helpKeepsTheOption(_ c: Case) throws {
        let r = try CLIRunner.run(c.command + ["--help"])
        #expect(r.status == 0)
        // Help wraps with the terminal's width: compare with white space folded.
        let text = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("\(c.option) \(c.help)"), "\(c.command) --help: \(r.stdout)")
        // The USAGE line: from "USAGE:" to the next heading (ARGUMENTS: or OPTIONS:).
        let afterUsage = text.components(separatedBy: "USAGE:").dropFirst().first ?? ""
        let usage = afterUsage.components(separatedBy: " ARGUMENTS:")[0].components(separatedBy: " OPTIONS:")[0]
        #expect(usage.hasPrefix(" enclavekit \(c.command.joined(separator: " "))"))
        // USAGE lists a required option bare; an optional one in brackets, or within [<options>].
        if c.required {
            #expect(usage.contains(c.option) && !usage.contains("[\(c.option)]"), "\(c.command): not required")
        } else {
            #expect(!usage.contains(c.option) || usage.contains("[\(c.option)]"), "\(c.command): required")
        }
    }
}
