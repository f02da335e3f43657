import ArgumentParser
import EnclaveCore
import TDX

struct TDXReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a TD's event log (CCEL) to RTMR0-3, listing each event with its digest.",
        discussion: """
            Reads the TCG2 event log TDVF leaves in the ACPI CCEL table's log
            area (in a TD: /sys/firmware/acpi/tables/data/CCEL) and extends
            RTMR0-3 with each event's SHA-384 digest. Event lines have the
            layout of `tdx measure --events`; with --expected the two are
            compared event by event and the command fails if one differs.
            Values replayed from a log are only as good as the log: check
            them against the RTMRs in the TD's quote.

            Examples:
              enclavekit tdx replay /sys/firmware/acpi/tables/data/CCEL
              enclavekit tdx replay ccel.bin --json
              enclavekit tdx measure --firmware OVMF.fd --kernel bzImage \\
                  --events > expected.txt
              enclavekit tdx replay ccel.bin --expected expected.txt
            """)

    @Argument(help: "The event log file.")
    var eventLog: String
    @Option(help: "Compare with this `tdx measure --events` text output, event by event.")
    var expected: String?
    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func run() throws {
        let bytes = try FileInput.contents(of: eventLog, limit: 64 << 20, format: TDXEventLog.format)
        let log: TDXEventLog
        do {
            log = try TDXEventLog(bytes: bytes)
        } catch {
            throw error.in(file: eventLog)
        }
        let events = log.events
        let rtmrs = RTMR.replay(events)
        let rows = TDXEventRow.rows(events)
        let skipped = log.entries.count - events.count
        var comparison: [TDXEventComparison.Row] = []
        if let expected {
            let text = try FileInput.contents(of: expected, limit: 16 << 20, format: "TDX event listing")
            let expectedEvents: [TDXEvent]
            do {
                expectedEvents = try TDXEventComparison.parseEventLines(String(decoding: text, as: UTF8.self))
            } catch {
                throw error.in(file: expected)
            }
            guard !expectedEvents.isEmpty else {
                throw UsageError(
                    "\(expected): no event lines", hint: "write it with `enclavekit tdx measure ... --events`")
            }
            comparison = TDXEventComparison.compare(expected: expectedEvents, actual: events)
        }
        if json {
            var object: [(String, JSONValue)] = []
            for (i, r) in rtmrs.enumerated() { object.append(("rtmr\(i)", .string(r.hex))) }
            object.append(("events", .array(rows.map(\.json))))
            object.append(("unextended_events", .int(skipped)))
            if expected != nil {
                object.append(
                    (
                        "comparison",
                        .array(
                            comparison.map { row in
                                .object([
                                    ("rtmr", .int(row.rtmr)), ("index", .int(row.index)),
                                    ("status", .string(row.status.rawValue)),
                                    ("expected", row.expected.map { .string($0.digest.hex) } ?? .null),
                                    ("actual", row.actual.map { .string($0.digest.hex) } ?? .null),
                                ])
                            })
                    ))
            }
            Output.json(.object(object))
            if comparison.contains(where: { $0.status != .same }) { throw ExitCode.failure }
            return
        }
        Output.table(rtmrs.enumerated().map { ("rtmr\($0.offset)", $0.element.hex) }, indent: "")
        print("events:")
        for line in TDXEventOutput.lines(rows) { print(line) }
        if skipped > 0 { print("(\(skipped) EV_NO_ACTION or MRTD entries logged but not extended)") }
        if expected != nil {
            let differing = comparison.filter { $0.status != .same }
            print("comparison: \(comparison.count - differing.count) of \(comparison.count) events match")
            for row in differing {
                let tag = "rtmr\(row.rtmr)[\(row.index)]"
                let name = row.expected?.name ?? row.actual?.name ?? ""
                print("  \(tag) \(row.status.rawValue): expected \(row.expected?.digest.hex ?? "-")")
                print(
                    "  \(String(repeating: " ", count: tag.count + row.status.rawValue.count + 2))"
                        + "got      \(row.actual?.digest.hex ?? "-")  \(name)")
            }
            if !differing.isEmpty {
                StandardError.write("error: \(differing.count) events differ from \(expected ?? "")\n")
                throw ExitCode.failure
            }
        }
    }
}
