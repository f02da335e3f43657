import EnclaveCore

/// Event-by-event comparison of two RTMR event lists (expected from `TDXMeasurer`, actual from a TD's
/// event log), register by register and in order, so the first event that differs is named.
///
/// ```swift
/// let rows = TDXEventComparison.compare(expected: measured.events, actual: log.events)
/// let first = rows.first { $0.status != .same }
/// ```
public enum TDXEventComparison {
    public enum Status: String, Sendable {
        case same
        case differs
        /// Expected but not in the log.
        case missing
        /// In the log but not expected.
        case extra
    }

    public struct Row: Sendable {
        public let rtmr: Int
        /// 1-based position in the register's list.
        public let index: Int
        public let status: Status
        public let expected: TDXEvent?
        public let actual: TDXEvent?
    }

    public static func compare(expected: [TDXEvent], actual: [TDXEvent]) -> [Row] {
        var rows: [Row] = []
        for rtmr in 0..<RTMR.count {
            let e = expected.filter { $0.rtmr == rtmr }
            let a = actual.filter { $0.rtmr == rtmr }
            for i in 0..<max(e.count, a.count) {
                let x = i < e.count ? e[i] : nil
                let y = i < a.count ? a[i] : nil
                let status: Status
                switch (x, y) {
                case (let x?, let y?): status = x.digest == y.digest ? .same : .differs
                case (_?, nil): status = .missing
                default: status = .extra
                }
                rows.append(Row(rtmr: rtmr, index: i + 1, status: status, expected: x, actual: y))
            }
        }
        return rows
    }

    /// Reads the event lines of `enclavekit tdx measure --events` (or `tdx replay`) text output:
    /// `rtmrN[i]  DIGEST  TYPE  DESCRIPTION`. Other lines are ignored.
    public static func parseEventLines(_ text: String) throws(FormatError) -> [TDXEvent] {
        var events: [TDXEvent] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let tag = fields.first, tag.hasPrefix("rtmr"), tag.hasSuffix("]"), fields.count >= 3 else {
                continue
            }
            guard let register = tag.dropFirst(4).first.flatMap({ Int(String($0)) }), register < RTMR.count,
                let digest = Hex.decode(String(fields[1])), digest.count == 48
            else {
                throw FormatError(
                    .badValue, format: "TDX event listing", offset: nil,
                    "line \(number + 1): expected \"rtmrN[i]  <96 hex digits>  TYPE  description\"")
            }
            let name = fields.dropFirst(3).joined(separator: " ")
            let type = TDXEvent.EventType.names.first { $0.value == fields[2] }.map { TDXEvent.EventType($0.key) }
            events.append(TDXEvent(rtmr: register, type: type ?? .init(0), name: name, digest: digest))
        }
        return events
    }
}
