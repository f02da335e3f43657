import EnclaveCore
import Foundation
import SGX
import TestSupport

/// Interprets the page lists of the shared vectors (`v1.json`, `v2.json`, copied into Fixtures): `pattern:L`
/// is SHA256("L:j") for j = 0..127 (with `count`, page k uses label `L/k`), `hex:` bytes then zeros, `zero`.
struct PageList {
    struct Page {
        var offset: UInt64
        var flags: SecInfoFlags
        var measured: Bool
        var content: [UInt8]?
    }

    var size: UInt64
    var ssaFrameSize: UInt32
    var pages: [Page]

    init(fixture name: String) throws {
        let data = Data(try Fixtures.bytes(name))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let ssa = root["ssaframesize"] as? Int, let sizeText = root["size"] as? String,
            let size = UInt64(sizeText.dropFirst(2), radix: 16), let list = root["pages"] as? [[String: Any]]
        else { throw TestFailure("bad page list \(name)") }
        self.size = size
        ssaFrameSize = UInt32(ssa)
        pages = []
        for entry in list {
            guard let offsetText = entry["offset"] as? String, let offset = UInt64(offsetText.dropFirst(2), radix: 16),
                let flagsText = entry["flags"] as? String, let flags = UInt64(flagsText.dropFirst(2), radix: 16),
                let measure = entry["measure"] as? Bool
            else { throw TestFailure("bad page entry in \(name)") }
            let count = entry["count"] as? Int
            let content = entry["content"] as? String
            for k in 0..<(count ?? 1) {
                var bytes: [UInt8]?
                if measure, let content {
                    if content == "zero" {
                        bytes = [UInt8](repeating: 0, count: 4096)
                    } else if content.hasPrefix("hex:") {
                        let prefix = Hex.decode(String(content.dropFirst(4))) ?? []
                        bytes = prefix + [UInt8](repeating: 0, count: 4096 - prefix.count)
                    } else if content.hasPrefix("pattern:") {
                        var label = String(content.dropFirst(8))
                        if count != nil { label += "/\(k)" }
                        bytes = (0..<128).flatMap { j in Digest.sha256(Array("\(label):\(j)".utf8)) }
                    }
                }
                pages.append(
                    Page(
                        offset: offset + UInt64(k) * 4096, flags: SecInfoFlags(rawValue: flags), measured: measure,
                        content: bytes))
            }
        }
    }

    /// Feeds the pages to a builder (optionally teeing the SGXS stream into `sink`).
    func measure(sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws -> [UInt8] {
        let builder = try MREnclaveBuilder(size: size, ssaFrameSize: ssaFrameSize, sink: sink)
        for page in pages {
            try builder.addPage(offset: page.offset, flags: page.flags, content: page.content, measured: page.measured)
        }
        return try builder.finalize()
    }
}
