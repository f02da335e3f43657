import EnclaveCore

/// The certificate table the host hands an SEV-SNP guest beside its report (GHCB spec #56421, §4.1.8.1
/// "SNP Extended Guest Request"; configfs-tsm's `auxblob`): entries of a GUID, a byte offset and a
/// length, ended by an all-zero entry, followed by the DER certificates they point at.
///
/// ```swift
/// let table = try SNPCertificateTable(bytes: auxblob)
/// let vcek = table.certificate(.vcek)
/// ```
public struct SNPCertificateTable: Sendable {
    public static let format = "SNP certificate table"

    public enum Kind: String, Sendable, CaseIterable {
        case ark = "c0b406a4-a803-4952-9743-3fb6014cd0ae"
        case ask = "4ab7b379-bbac-4fe4-a02f-05aef327c782"
        case vcek = "63da758d-e664-4564-adc5-f4b93be8accd"
        case vlek = "a8074bc2-a25a-483e-aae6-39c045a0b8a1"
    }

    /// GUID (lowercase text) → DER bytes, in table order.
    public let entries: [(guid: String, der: [UInt8])]

    public init(bytes: [UInt8]) throws(FormatError) {
        var r = ByteReader(bytes, format: Self.format)
        var entries: [(String, [UInt8])] = []
        while true {
            let at = r.position
            let guid = try r.readBytes(16, "entry GUID")
            let offset = Int(try r.readU32LE("entry offset"))
            let length = Int(try r.readU32LE("entry length"))
            if guid.allSatisfy({ $0 == 0 }) && offset == 0 && length == 0 { break }
            guard entries.count < 64 else { throw r.error(.tooLarge, "more than 64 entries", at: at) }
            guard offset <= bytes.count, length <= bytes.count - offset, length > 0 else {
                throw r.error(
                    .outOfBounds, "entry \(entries.count) points at \(offset)+\(length), past the \(bytes.count) bytes",
                    at: at + 16)
            }
            entries.append((Self.guidText(guid), Array(bytes[offset..<offset + length])))
        }
        guard !entries.isEmpty else { throw FormatError(.missing, format: Self.format, offset: 0, "no entries") }
        self.entries = entries
    }

    public func certificate(_ kind: Kind) -> [UInt8]? { entries.first { $0.guid == kind.rawValue }?.der }

    /// EFI GUID byte order: the first three fields little-endian.
    static func guidText(_ b: [UInt8]) -> String {
        let order = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15]
        return order.map { $0 < 0 ? "-" : Hex.encode([b[$0]]) }.joined()
    }

    /// True when `bytes` look like a table rather than PEM or DER.
    static func looksLikeTable(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 24 && bytes.first != 0x30 && !bytes.starts(with: Array("-----".utf8))
    }
}
