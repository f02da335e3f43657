import EnclaveCore

/// A bounds-checked reader of cpio "newc" archives (`070701`, either hex case), for listing and
/// comparing ramdisks. Every field is checked: bad magic, non-hex digits, a name or data running
/// past the end, a missing NUL or a missing trailer throw a `FormatError` with the offset.
///
/// ```swift
/// for member in try CPIOListing.parse(bytes) { print(member.name, member.size) }
/// ```
public enum CPIOListing {
    /// One member of a newc archive.
    public struct Member: Sendable, Hashable {
        public var offset: Int
        public var inode: UInt32
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var nlink: UInt32
        public var mtime: UInt32
        public var size: UInt32
        public var devMajor: UInt32
        public var devMinor: UInt32
        public var rdevMajor: UInt32
        public var rdevMinor: UInt32
        public var check: UInt32
        public var nameBytes: [UInt8]
        public var data: [UInt8]
        public var name: String { String(decoding: nameBytes, as: UTF8.self) }
    }

    /// Parses a whole archive up to and including its `TRAILER!!!` member; bytes after the trailer
    /// must be zeros (padding).
    public static func parse(_ bytes: [UInt8], maxMembers: Int = 1 << 20) throws(FormatError) -> [Member] {
        var reader = ByteReader(bytes, format: "cpio")
        var members: [Member] = []
        while true {
            guard members.count < maxMembers else {
                throw reader.error(.tooLarge, "more than \(maxMembers) members")
            }
            let start = reader.position
            let magic = try reader.readBytes(6, "newc magic")
            guard magic == Array("070701".utf8) else {
                throw reader.error(.badMagic, "expected newc magic \"070701\"", at: start)
            }
            var fields: [UInt32] = []
            for index in 0..<13 {
                let at = reader.position
                let text = try reader.readBytes(8, "header field \(index)")
                var value: UInt32 = 0
                for c in text {
                    guard let digit = Hex.digitValue(c) else {
                        throw reader.error(.badValue, "header field \(index) is not 8 hex digits", at: at)
                    }
                    value = value << 4 | UInt32(digit)
                }
                fields.append(value)
            }
            let nameSize = Int(fields[11])
            guard nameSize >= 1 else { throw reader.error(.badValue, "name size 0 (must include the NUL)", at: start) }
            let nameAt = reader.position
            let nameWithNul = try reader.readBytes(nameSize, "member name")
            guard nameWithNul.last == 0 else {
                throw reader.error(.badValue, "member name is not NUL-terminated", at: nameAt)
            }
            try reader.skip(padding(reader.position), "name padding")
            let data = try reader.readBytes(Int(fields[6]), "member data")
            let member = Member(
                offset: start, inode: fields[0], mode: fields[1], uid: fields[2], gid: fields[3], nlink: fields[4],
                mtime: fields[5], size: fields[6], devMajor: fields[7], devMinor: fields[8], rdevMajor: fields[9],
                rdevMinor: fields[10], check: fields[12], nameBytes: Array(nameWithNul.dropLast()), data: data)
            members.append(member)
            if member.nameBytes == Array("TRAILER!!!".utf8) {
                let tail = bytes[reader.position...]
                if let bad = tail.firstIndex(where: { $0 != 0 }) {
                    throw reader.error(.badValue, "non-zero byte after the trailer", at: bad)
                }
                return members
            }
            guard reader.remaining > 0 else {
                throw reader.error(.truncated, "archive ends without a TRAILER!!! member")
            }
            try reader.skip(min(padding(reader.position), reader.remaining), "data padding")
        }
    }

    private static func padding(_ position: Int) -> Int { (4 - position % 4) % 4 }
}
