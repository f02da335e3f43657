import ArgumentParser
import EnclaveCore
import Measure

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

    @Argument(help: "The file to measure.")
    var file: String

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    @Option(help: "A release (manifest, DSSE envelope or Sigstore bundle) whose measurements this file must have.")
    var expect: String?

    @Option(help: "Trust policy: with --expect, verify the release's signatures (k-of-n) before comparing.")
    var policy: String?

    func validate() throws {
        if policy != nil, expect == nil { throw ValidationError("--policy goes with --expect") }
    }

    func run() throws {
        let measured: FileMeasurement
        do {
            measured = try FileMeasurement.measure(path: file, progress: ProgressBar.make)
        } catch let error as MeasureError {
            throw UsageError(error.message, hint: error.expected)
        }
        let problems = measured.problems
        var expectation: ReleaseExpectation.Outcome?
        if let expect {
            expectation = try ReleaseExpectation.check(measured.reports, against: expect, policy: policy)
            if policy == nil {
                Output.warn("\(expect): signatures not checked; pass --policy POLICY to verify who signed this release")
            }
        }
        if json {
            var fields = measured.json
            if let expectation { fields.append(("expect", expectation.json)) }
            Output.json(.object(fields))
        } else {
            for report in measured.reports {
                print("\(file): \(report.title)")
                Output.table(report.values)
                for problem in report.problems { print("\(file): problem: \(problem)") }
            }
            for (name, error) in measured.failures {
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
