import EnclaveCore

/// The table of contents of an uncompressed tar file (ustar, PAX `path`/`size`/`linkpath` records,
/// GNU long names), with each regular member's data offset, so members can be read in place
/// (``TarSource``) instead of being copied out. Used for the outer tarball of `docker save`,
/// kaniko `--tarPath` and OCI layouts in a tar. Symlinks and hard links between members are
/// resolved inside the archive (`docker save` links identical layers); a link that leaves the
/// archive is an error when followed.
///
/// Every header is bounds-checked and its checksum verified; a member whose data runs past the end
/// of the file throws `truncated`.
///
/// ```swift
/// let index = try TarIndex(path: "image.tar")
/// let manifest = try index.contents(of: "manifest.json", limit: 1 << 20)
/// ```
public struct TarIndex: Sendable {
    /// A regular member's place in the file.
    public struct Member: Sendable, Hashable {
        public var name: String
        public var offset: UInt64
        public var size: UInt64
    }

    public let path: String
    /// Regular members by normalized name (no `./`, no trailing `/`).
    public private(set) var members: [String: Member] = [:]
    /// Links by normalized name: target name, already resolved relative to the archive root.
    public private(set) var links: [String: String] = [:]
    /// Member names in archive order.
    public private(set) var order: [String] = []

    /// The bytes behind the index: a file, or memory (fuzzing).
    enum Storage: Sendable {
        case file(FileInput)
        case memory([UInt8])

        var size: UInt64 {
            switch self {
            case .file(let input): input.size
            case .memory(let bytes): UInt64(bytes.count)
            }
        }

        func read(at offset: UInt64, count: Int, format: String) throws -> [UInt8] {
            switch self {
            case .file(let input): return try input.read(at: offset, count: count, format: format)
            case .memory(let bytes):
                guard offset <= UInt64(bytes.count), UInt64(bytes.count) - offset >= UInt64(count) else {
                    throw FormatError(.truncated, format: format, offset: offset, "needs \(count) bytes")
                }
                return Array(bytes[Int(offset)..<(Int(offset) + count)])
            }
        }
    }

    let storage: Storage

    /// Indexes the tar file at `path`.
    public init(path: String, maxMembers: Int = 1 << 20) throws {
        try self.init(storage: .file(try FileInput(path: path)), path: path, maxMembers: maxMembers)
    }

    /// Indexes a tar held in memory (fuzzing, tests); `name` is used in messages.
    public init(bytes: [UInt8], name: String = "memory", maxMembers: Int = 1 << 20) throws {
        try self.init(storage: .memory(bytes), path: name, maxMembers: maxMembers)
    }

    init(storage: Storage, path: String, maxMembers: Int) throws {
        self.path = path
        self.storage = storage
        let input = storage
        var offset: UInt64 = 0
        var paxPath: [UInt8]?
        var paxLink: [UInt8]?
        var paxSize: UInt64?
        var longName: [UInt8]?
        var longLink: [UInt8]?
        var count = 0
        while offset + 512 <= input.size {
            let header = try input.read(at: offset, count: 512, format: "tar")
            if header.allSatisfy({ $0 == 0 }) { break }
            count += 1
            guard count <= maxMembers else {
                throw FormatError(
                    .tooLarge, format: "tar", offset: offset, "more than \(maxMembers) members", file: path)
            }
            try Self.verifyChecksum(header, offset: offset, file: path)
            let type = header[156]
            let headerSize = try Self.number(header[124..<136], field: "size", offset: offset + 124, file: path)
            let size = paxSize ?? headerSize
            let dataOffset = offset + 512
            let (end, overflow) = dataOffset.addingReportingOverflow(size)
            guard !overflow, end <= input.size else {
                throw FormatError(
                    .truncated, format: "tar", offset: offset,
                    "member data (\(size) bytes) runs past the end of the file (\(input.size) bytes)", file: path)
            }
            let next = dataOffset + (size + 511) / 512 * 512
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                guard size <= 1 << 20 else {
                    throw FormatError(.tooLarge, format: "tar", offset: offset, "PAX header over 1 MiB", file: path)
                }
                let records = try Self.paxRecords(
                    try input.read(at: dataOffset, count: Int(size), format: "tar"), offset: dataOffset, file: path)
                if type == UInt8(ascii: "x") {
                    paxPath = records["path"]
                    paxLink = records["linkpath"]
                    if let text = records["size"] {
                        guard let value = UInt64(String(decoding: text, as: UTF8.self)) else {
                            throw FormatError(.badValue, format: "tar", offset: dataOffset, "bad PAX size", file: path)
                        }
                        paxSize = value
                    }
                }
                offset = next
                continue
            case UInt8(ascii: "L"), UInt8(ascii: "K"):
                guard size <= 1 << 16 else {
                    throw FormatError(.tooLarge, format: "tar", offset: offset, "GNU long name over 64 KiB", file: path)
                }
                let text = Array(try input.read(at: dataOffset, count: Int(size), format: "tar").prefix { $0 != 0 })
                if type == UInt8(ascii: "L") { longName = text } else { longLink = text }
                offset = next
                continue
            default:
                break
            }
            var name = paxPath ?? longName ?? Self.field(header[0..<100])
            if paxPath == nil, longName == nil, header[257..<262].elementsEqual(Array("ustar".utf8)) {
                let prefix = Self.field(header[345..<500])
                if !prefix.isEmpty { name = prefix + [UInt8(ascii: "/")] + name }
            }
            let linkName = paxLink ?? longLink ?? Self.field(header[157..<257])
            paxPath = nil
            paxLink = nil
            paxSize = nil
            longName = nil
            longLink = nil
            let normalized = Self.normalize(name)
            switch type {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                if !normalized.isEmpty {
                    members[normalized] = Member(name: normalized, offset: dataOffset, size: size)
                    order.append(normalized)
                }
            case UInt8(ascii: "1"):
                links[normalized] = Self.normalize(linkName)
            case UInt8(ascii: "2"):
                let text = String(decoding: linkName, as: UTF8.self)
                if text.hasPrefix("/") {
                    links[normalized] = "/" + text  // outside the archive: rejected when followed
                } else {
                    // Resolved lexically from the link's directory; a result that climbs above the
                    // archive root keeps its leading ".." and is rejected when followed.
                    let dir = normalized.split(separator: "/").dropLast().joined(separator: "/")
                    let joined = Array((dir.isEmpty ? text : dir + "/" + text).utf8)
                    links[normalized] = SafePath.text(PathBytes.clean(joined))
                }
            default:
                break
            }
            offset = next
        }
    }

    /// Where member `name` lives in the file, following links inside the archive. Throws `missing`
    /// for an absent member and `unsafePath` for a name or link that leaves the archive.
    public func member(_ name: String, format: String = "docker-archive") throws -> Member {
        var current = try Self.checked(name, format: format, file: path)
        for _ in 0..<16 {
            if let member = members[current] { return member }
            guard let target = links[current] else { break }
            current = try Self.checked(target, format: format, file: path)
        }
        throw FormatError(.missing, format: format, "\(name) is not in the archive", file: path)
    }

    /// The bytes of a small member (manifests, configs), at most `limit` bytes.
    public func contents(of name: String, limit: UInt64, format: String = "docker-archive") throws -> [UInt8] {
        let member = try member(name, format: format)
        guard member.size <= limit else {
            throw FormatError(.tooLarge, format: format, "\(name) is \(member.size) bytes (limit \(limit))", file: path)
        }
        return try storage.read(at: member.offset, count: Int(member.size), format: format)
    }

    /// A ``TarSource`` for reading member `name` in place.
    public func source(of name: String, format: String = "docker-archive") throws -> TarSource {
        let member = try member(name, format: format)
        return TarSource(path: path, offset: member.offset, length: member.size, displayName: "\(path):\(name)")
    }

    static func checked(_ name: String, format: String, file: String) throws -> String {
        let parts = try SafePath.components(Array(name.utf8), format: format, file: file)
        return SafePath.text(parts)
    }

    static func normalize(_ name: [UInt8]) -> String {
        if name.first == UInt8(ascii: "/") { return String(decoding: name, as: UTF8.self) }
        var parts: [String] = []
        for part in String(decoding: name, as: UTF8.self).split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            parts.append(String(part))
        }
        return parts.joined(separator: "/")
    }

    static func field(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        Array(bytes.prefix { $0 != 0 })
    }

    /// An octal (space/NUL padded) or base-256 numeric field.
    static func number(_ bytes: ArraySlice<UInt8>, field: String, offset: UInt64, file: String) throws -> UInt64 {
        if let first = bytes.first, first & 0x80 != 0 {
            var value: UInt64 = 0
            for (i, b) in bytes.enumerated() {
                let byte = i == 0 ? b & 0x7F : b
                guard value >> 56 == 0 else {
                    throw FormatError(.tooLarge, format: "tar", offset: offset, "\(field) field overflows", file: file)
                }
                value = value << 8 | UInt64(byte)
            }
            return value
        }
        var value: UInt64 = 0
        var seenDigit = false
        for b in bytes {
            if b == 0 || b == UInt8(ascii: " ") {
                if seenDigit { break } else { continue }
            }
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "7"), value >> 60 == 0 else {
                throw FormatError(.badValue, format: "tar", offset: offset, "\(field) field is not octal", file: file)
            }
            seenDigit = true
            value = value << 3 | UInt64(b - UInt8(ascii: "0"))
        }
        return value
    }

    static func verifyChecksum(_ header: [UInt8], offset: UInt64, file: String) throws {
        let stored = try number(header[148..<156], field: "checksum", offset: offset + 148, file: file)
        var unsigned: UInt64 = 0
        var signed: Int64 = 0
        for (i, b) in header.enumerated() {
            let v = (148..<156).contains(i) ? UInt8(ascii: " ") : b
            unsigned += UInt64(v)
            signed += Int64(Int8(bitPattern: v))
        }
        guard stored == unsigned || Int64(stored) == signed else {
            throw FormatError(
                .checksum, format: "tar", offset: offset,
                "header checksum \(stored) does not match the computed \(unsigned); not a tar file or corrupt",
                file: file)
        }
    }

    /// PAX records `"%d %s=%s\n"`.
    static func paxRecords(_ data: [UInt8], offset: UInt64, file: String) throws -> [String: [UInt8]] {
        var records: [String: [UInt8]] = [:]
        var i = 0
        while i < data.count {
            if data[i] == 0 { break }
            guard let space = data[i...].firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: data[i..<space], as: UTF8.self)), length > space - i,
                i + length <= data.count, data[i + length - 1] == UInt8(ascii: "\n")
            else {
                throw FormatError(
                    .badValue, format: "tar", offset: offset + UInt64(i), "malformed PAX record", file: file)
            }
            let record = data[(space + 1)..<(i + length - 1)]
            if let eq = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[record.startIndex..<eq], as: UTF8.self)] = Array(record[(eq + 1)...])
            }
            i += length
        }
        return records
    }
}
