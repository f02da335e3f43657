import EnclaveCore

/// A TDX event log as the firmware leaves it in the ACPI CCEL table's log area (or any TCG2 "crypto
/// agile" log): a `TCG_PCR_EVENT` header with the `Spec ID Event03` algorithm list, then
/// `TCG_PCR_EVENT2` records (TCG PC Client PFP spec §10.2; UEFI 2.10 §38.4 for CC MR indexes).
///
/// In a CC log the "PCR index" is the CC MR index: 0 = MRTD, 1…4 = RTMR0…RTMR3. Replaying the SHA-384
/// digests gives the RTMRs a TD reports, so each event can be compared with `tdx measure --events`.
///
/// ```swift
/// let log = try TDXEventLog(bytes: try FileInput.contents(of: "/sys/firmware/acpi/tables/data/CCEL"))
/// let rtmrs = RTMR.replay(log.events.compactMap(\.measurement))
/// ```
public struct TDXEventLog: Sendable {
    public static let format = "TDX event log"
    static let sha384AlgorithmID: UInt16 = 0x000c
    static let maxAlgorithms = 16

    /// One logged event.
    public struct Entry: Sendable {
        /// File offset of the record.
        public let offset: Int
        /// The CC MR index (0 = MRTD, 1 = RTMR0 …).
        public let mrIndex: UInt32
        public let type: TDXEvent.EventType
        /// The SHA-384 digest logged for this event.
        public let digest: [UInt8]
        /// The event data (what was logged, not necessarily what was hashed).
        public let data: [UInt8]

        /// The event as a register extension, or nil for EV_NO_ACTION and MRTD (index 0) entries.
        public var measurement: TDXEvent? {
            guard type != .noAction, mrIndex >= 1, mrIndex <= 4 else { return nil }
            return TDXEvent(rtmr: Int(mrIndex) - 1, type: type, name: summary, digest: digest)
        }

        /// A short readable description of the event data.
        public var summary: String { TDXEventLog.describe(type: type, data: data) }
    }

    /// The digest sizes the header announces, by TCG algorithm ID.
    public let algorithms: [(id: UInt16, size: Int)]
    public let entries: [Entry]

    /// Events that extend an RTMR, in log order.
    public var events: [TDXEvent] { entries.compactMap(\.measurement) }

    public init(bytes: [UInt8]) throws(FormatError) {
        var r = ByteReader(bytes, format: Self.format)
        // TCG_PCR_EVENT header (SHA-1 format).
        _ = try r.readU32LE("header PCR index")
        let headerType = try r.readU32LE("header event type")
        guard headerType == TDXEvent.EventType.noAction.raw else {
            throw r.error(
                .badMagic, "the first event has type 0x\(String(headerType, radix: 16)), expected EV_NO_ACTION")
        }
        try r.skip(20, "header SHA-1 digest")
        let headerSize = Int(try r.readU32LE("header event size"))
        let specStart = r.position
        var spec = ByteReader(
            try r.readBytes(headerSize, "Spec ID event"), format: Self.format, baseOffset: UInt64(specStart))
        let signature = try spec.readBytes(16, "Spec ID signature")
        guard signature == Array("Spec ID Event03".utf8) + [0] else {
            throw spec.error(.badMagic, "expected the \"Spec ID Event03\" signature of a crypto-agile log", at: 0)
        }
        try spec.skip(4 + 4, "platform class, versions, uintn size")
        let algorithmCount = Int(try spec.readU32LE("number of algorithms"))
        guard algorithmCount >= 1, algorithmCount <= Self.maxAlgorithms else {
            throw spec.error(.badValue, "\(algorithmCount) digest algorithms, expected 1 to \(Self.maxAlgorithms)")
        }
        var algorithms: [(id: UInt16, size: Int)] = []
        for _ in 0..<algorithmCount {
            let id = try spec.readU16LE("algorithm ID")
            let size = Int(try spec.readU16LE("digest size"))
            guard size > 0, size <= 64 else { throw spec.error(.badValue, "digest size \(size) for algorithm \(id)") }
            algorithms.append((id, size))
        }
        guard algorithms.contains(where: { $0.id == Self.sha384AlgorithmID && $0.size == 48 }) else {
            throw spec.error(.missing, "the log has no SHA-384 digests (a TDX log always has them)", at: 24)
        }
        var entries: [Entry] = []
        while r.remaining >= 8 {
            let offset = r.position
            let mrIndex = try r.readU32LE("MR index")
            let type = try r.readU32LE("event type")
            // The log area is larger than the log: it ends in 0xFF (erased) or zero filler.
            if mrIndex == 0xffff_ffff || (mrIndex == 0 && type == 0) { break }
            let count = Int(try r.readU32LE("digest count"))
            guard count >= 1, count <= algorithmCount else {
                throw r.error(
                    .badValue, "event has \(count) digests, the header announces \(algorithmCount)", at: offset + 8)
            }
            var digest: [UInt8]? = nil
            for _ in 0..<count {
                let idOffset = r.position
                let id = try r.readU16LE("digest algorithm")
                guard let algorithm = algorithms.first(where: { $0.id == id }) else {
                    throw r.error(
                        .badValue, "digest algorithm 0x\(String(id, radix: 16)) is not in the header", at: idOffset)
                }
                let bytes = try r.readBytes(algorithm.size, "digest")
                if id == Self.sha384AlgorithmID { digest = bytes }
            }
            guard let digest else {
                throw r.error(.missing, "event has no SHA-384 digest", at: offset)
            }
            let size = Int(try r.readU32LE("event size"))
            let data = try r.readBytes(size, "event data")
            entries.append(Entry(offset: offset, mrIndex: mrIndex, type: .init(type), digest: digest, data: data))
        }
        self.algorithms = algorithms
        self.entries = entries
    }

    static func describe(type: TDXEvent.EventType, data: [UInt8]) -> String {
        switch type {
        case .efiVariableDriverConfig, .efiVariableBoot, .efiVariableAuthority, .init(0x8000_000c):
            // UEFI_VARIABLE_DATA: GUID, u64 name length (chars), u64 data length, UTF-16 name.
            if let chars = data.le(UInt64.self, at: 16), chars <= 256, 32 + Int(chars) * 2 <= data.count {
                let units = (0..<Int(chars)).map { data.le(UInt16.self, at: 32 + 2 * $0) ?? 0 }
                return "variable " + String(decoding: units, as: UTF16.self)
            }
        case .eventTag:
            // TCG_PCClientTaggedEvent: u32 id, u32 size, data (Linux's stub puts an ASCII name there).
            if let size = data.le(UInt32.self, at: 4), 8 + Int(size) <= data.count {
                return printable(Array(data[8..<8 + Int(size)]))
                    ?? "tagged event 0x\(String(data.le(UInt32.self, at: 0) ?? 0, radix: 16))"
            }
        case .efiBootServicesApplication: return "boot application (\(data.count) bytes of image load event)"
        case .separator: return "separator"
        default: break
        }
        if let text = printable(data) { return "\"\(text)\"" }
        return "\(data.count) bytes"
    }

    static func printable(_ data: [UInt8]) -> String? {
        var bytes = data
        while bytes.last == 0 { bytes.removeLast() }
        guard !bytes.isEmpty, bytes.count <= 200, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
