import ArgumentParser
import EnclaveCore
import TDX

struct TDXReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a TD's event log (CCEL) to RTMR0-3, listing each event with its digest.",
        discussion: """
            Reads the TCG2 crypto-agile event log that TDVF leaves in the ACPI CCEL table's log area \
            (in a TD: /sys/firmware/acpi/tables/data/CCEL) and extends RTMR0-3 with each event's SHA-384 \
            digest. The event lines have the same layout as `tdx measure --events`, so the two can be \
            compared line by line to find the event that differs. RTMRs replayed from a log are only as \
            trustworthy as the log: compare them with the RTMRs in the TD's quote.

            Examples:
              enclavekit tdx replay /sys/firmware/acpi/tables/data/CCEL
              enclavekit tdx replay ccel.bin --json
            """)

    @Argument(help: "The event log file.")
    var eventLog: String
    @Flag(help: "Print JSON instead of text.")
    var json = false

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
        if json {
            var object: [(String, JSONValue)] = []
            for (i, r) in rtmrs.enumerated() { object.append(("rtmr\(i)", .string(r.hex))) }
            object.append(("events", .array(rows.map(\.json))))
            object.append(("unextended_events", .int(skipped)))
            Output.json(.object(object))
            return
        }
        Output.table(rtmrs.enumerated().map { ("rtmr\($0.offset)", $0.element.hex) }, indent: "")
        print("events:")
        for line in TDXEventOutput.lines(rows) { print(line) }
        if skipped > 0 { print("(\(skipped) EV_NO_ACTION or MRTD entries logged but not extended)") }
    }
}
