import ArgumentParser
import EnclaveCore

/// One file format that `enclavekit measure` can recognise and measure.
/// Each format lives in its own file (`Measure+Nitro.swift`, `Measure+SGX.swift`, …).
protocol MeasurableFormat {
    /// Short name used in JSON (`eif`, `sgxs`, `sigstruct`, `tdvf`, `ovmf-snp`).
    static var name: String { get }
    /// Cheap check on the first bytes (up to 4 KiB) and the file size.
    static func matches(prefix: [UInt8], file: FileInput) -> Bool
    /// Computes the measurements.
    static func measure(file: FileInput) throws -> MeasurementReport
}

/// What `measure` prints for one format: a title and ordered name/value pairs.
struct MeasurementReport {
    var format: String
    var title: String
    var values: [(String, String)]
    /// Extra detail for `--json` only.
    var extra: [(String, JSONValue)] = []
    /// What is wrong with the file although it could be measured (an EIF whose CRC does not match):
    /// `measure` prints them and exits 1.
    var problems: [String] = []

    var json: JSONValue {
        .object(
            [("format", .string(format)), ("description", .string(title))]
                + [("measurements", .object(values.map { ($0.0, .string($0.1)) }))]
                + [("problems", .array(problems.map { .string($0) }))] + extra)
    }
}

struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Detect a file's format and print its measurements.",
        discussion: """
            Recognises an AWS Nitro EIF (PCR0/1/2, PCR8 when signed), an SGXS stream or SIGSTRUCT \
            (MRENCLAVE/MRSIGNER) and OVMF/TDVF firmware (MRTD, SEV-SNP launch digest with defaults).

            Examples:
              enclavekit measure image.eif
              enclavekit measure enclave.sgxs --json
              enclavekit measure node.eif --expect node.dsse.json --policy policy.json

            Exit status 1 when the file has problems, which are printed: an EIF whose CRC-32 does not \
            match or whose signature does not verify, or a file recognised as a format it then fails to \
            measure as (e.g. OVMF with a damaged SEV metadata table); the values that could be computed \
            are still printed.

            With --expect, the exit status is 0 only if some target of the release has every register \
            this file gives (PCR0/1/2, MRENCLAVE, MRTD, SEV-SNP MEASUREMENT) with the same value; each \
            target's line lists the registers compared and the release's registers this file does not \
            determine, which were not compared (for OVMF firmware, MRTD is compared and a tdx target's \
            RTMR1-3 are not). Without --policy the release's signatures are not checked (a warning says so).

            With --json, stdout is one JSON object: file, results (each with its problems), not_measured, \
            problems, and with --expect an "expect" object (targets with compared, not_compared and \
            differences); errors are {"error": ..., "file": ..., "offset": ...}.
            """)

    static var formats: [any MeasurableFormat.Type] {
        [
            EIFFormat.self, SGXSFormat.self, SigstructFormat.self, TDVFFormat.self, SNPFirmwareFormat.self,
        ]
    }

    @Argument(help: "The file to measure.")
    var file: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: "A release (manifest, DSSE envelope or Sigstore bundle) whose measurements this file must have.")
    var expect: String?

    @Option(help: "Trust policy: with --expect, verify the release's signatures (k-of-n) before comparing.")
    var policy: String?

    func validate() throws {
        if policy != nil, expect == nil { throw ValidationError("--policy goes with --expect") }
    }

    func run() throws {
        let input = try FileInput(path: file)
        let prefix = try input.read(at: 0, count: Int(min(input.size, 4096)), format: "file")
        let matching = Self.formats.filter { $0.matches(prefix: prefix, file: input) }
        guard !matching.isEmpty else {
            throw UsageError(
                "\(file): not a format EnclaveKit can measure",
                hint: "expected an EIF, an SGXS stream, a SIGSTRUCT (.sig) or OVMF/TDVF firmware")
        }
        // A file can be several things at once (OVMF firmware is measured for TDX and for SEV-SNP).
        // Print what could be measured; a format that fails only fails the command if all do.
        var reports: [MeasurementReport] = []
        var failures: [(String, any Error)] = []
        for format in matching {
            do {
                reports.append(try format.measure(file: input))
            } catch let error as FormatError {
                failures.append((format.name, error.in(file: file)))
            } catch {
                failures.append((format.name, error))
            }
        }
        if reports.isEmpty {
            if failures.count == 1, let only = failures.first { throw only.1 }
            throw UsageError(failures.map { "\($0.1)" }.joined(separator: "; "))
        }
        let problems =
            reports.flatMap { report in report.problems.map { "\(report.format): \($0)" } }
            + failures.map { "not measured as \($0.0): \($0.1)" }
        let expectation = try expect.map { try ExpectedRelease.check(reports, against: $0, policy: policy) }
        if json {
            let failed: [JSONValue] = failures.map {
                .object([("format", .string($0.0)), ("error", .string(String(describing: $0.1)))])
            }
            var fields: [(String, JSONValue)] = [
                ("file", .string(file)), ("results", .array(reports.map(\.json))), ("not_measured", .array(failed)),
                ("problems", .array(problems.map { .string($0) })),
            ]
            if let expectation { fields.append(("expect", expectation.json)) }
            Output.json(.object(fields))
        } else {
            for report in reports {
                print("\(file): \(report.title)")
                Output.table(report.values)
                for problem in report.problems { print("\(file): problem: \(problem)") }
            }
            for (name, error) in failures {
                print("\(file): not measured as \(name): \(error)")
            }
            expectation.map { print($0.text, terminator: "") }
        }
        var reasons: [String] = []
        if !problems.isEmpty { reasons.append("\(file): " + problems.joined(separator: "; ")) }
        if let failure = expectation?.failure { reasons.append(failure) }
        if !reasons.isEmpty { throw ReportedFailure(reasons.joined(separator: "; ")) }
    }
}
