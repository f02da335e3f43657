import ArgumentParser
import EnclaveCore
import TDX

struct TDXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tdx",
        abstract: "Intel TDX: MRTD and RTMR0-3.",
        discussion: """
            Computes a TD's measurements offline for an OVMF/TDVF direct
            kernel boot, event by event, and replays a running TD's event log
            (CCEL) to compare with them.

            Examples:
              enclavekit tdx measure --firmware OVMF.fd --kernel bzImage \\
                  --initrd initrd.img --cmdline "console=ttyS0" --events
              enclavekit tdx replay /sys/firmware/acpi/tables/data/CCEL
            """,
        subcommands: [TDXMeasureCommand.self, TDXReplayCommand.self])
}

/// Text and JSON forms of TDX events, shared by `measure --events` and `replay` so their outputs diff.
enum TDXEventOutput {
    static func lines(_ events: [TDXEventRow]) -> [String] {
        let typeWidth = events.map(\.type.count).max() ?? 0
        return events.map { e in
            let tag = "rtmr\(e.rtmr)[\(e.index)]"
            let pad = String(repeating: " ", count: max(0, typeWidth - e.type.count))
            return "  \(tag)\(tag.count < 9 ? " " : "") \(e.digest)  \(e.type)\(pad)  \(e.name)"
        }
    }
}

/// One event as printed: register, 1-based position in that register, type, digest, description.
struct TDXEventRow {
    var rtmr: Int
    var index: Int
    var type: String
    var digest: String
    var name: String

    var json: JSONValue {
        .object([
            ("rtmr", .int(rtmr)), ("index", .int(index)), ("type", .string(type)), ("digest", .string(digest)),
            ("description", .string(name)),
        ])
    }

    static func rows(_ events: [TDXEvent]) -> [TDXEventRow] {
        var counters = [Int](repeating: 0, count: RTMR.count)
        return events.map { e in
            counters[e.rtmr] += 1
            return TDXEventRow(
                rtmr: e.rtmr, index: counters[e.rtmr], type: e.type.description, digest: e.digest.hex, name: e.name)
        }
    }
}
