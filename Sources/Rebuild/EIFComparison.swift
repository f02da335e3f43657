import EnclaveCore
import Nitro

/// Two EIFs whose bytes differ (<doc:DrillDownComparison>; the format is in the Nitro catalog): the measurements that moved
/// (PCR0/1/2/8), the header fields, then section by section (kind and index, size, sha384), drilling
/// into the cmdline text, the metadata JSON fields, the signature's certificate, and each ramdisk's
/// cpio entries.
struct EIFComparison {
    let session: Session

    /// A section with its label (`section Ramdisk[1] (app)`) and its data's SHA-384.
    struct Labelled {
        var label: String
        var section: EIFSection
        var sha384: [UInt8] = []
    }

    static func labelled(_ image: EIFImage) -> [Labelled] {
        var ramdisk = 0
        return image.sections.map { s in
            switch s.type {
            case .ramdisk:
                defer { ramdisk += 1 }
                return Labelled(
                    label: "section Ramdisk[\(ramdisk)] (\(ramdisk == 0 ? "bootstrap" : "app"))", section: s)
            default:
                return Labelled(label: "section \(s.type)", section: s)
            }
        }
    }

    /// SHA-384 of every section of both images, the two images hashed at once on two cores.
    static func hashSections(_ a: EIFImage, _ b: EIFImage) throws -> ([[UInt8]], [[UInt8]]) {
        let images = [a, b]
        let results = Parallel.map(2) { i in
            let image = images[i]
            return try image.sections.map { s in
                let digest = Digest(.sha384)
                if s.size > 0 {
                    let chunk = Int(min(UInt64(FileStream.defaultChunkSize), s.size))
                    try FileStream.forEachChunk(of: image.file, ranges: [s.dataOffset..<s.end], chunkSize: chunk) {
                        _, bytes in digest.update(bytes)
                    }
                }
                return digest.finalize()
            }
        }
        return (try results[0].get(), try results[1].get())
    }

    func compare(_ a: EIFImage, _ b: EIFImage) throws {
        let c = session.collector
        let start = c.count
        var la = Self.labelled(a)
        var lb = Self.labelled(b)
        let (ha, hb) = try Self.hashSections(a, b)
        for i in la.indices { la[i].sha384 = ha[i] }
        for i in lb.indices { lb[i].sha384 = hb[i] }

        // Which sections differ, to name the measurements that moved first.
        var pairs: [(Labelled?, Labelled?)] = la.map { x in (x, lb.first { $0.label == x.label }) }
        pairs += lb.filter { y in !la.contains { $0.label == y.label } }.map { (nil, $0) }
        let differing = pairs.filter { $0.0?.sha384 != $0.1?.sha384 }
        let measured: [EIFSectionType] = [.kernel, .cmdline, .ramdisk, .signature]
        if differing.contains(where: { measured.contains(($0.0 ?? $0.1)?.section.type ?? .metadata) }) {
            try measurements(a, b)
        }

        let ea = a.header
        let eb = b.header
        func field(_ name: String, _ x: String, _ y: String) {
            if x != y { c.add(["header", name], expected: x, actual: y) }
        }
        field("version", String(ea.version), String(eb.version))
        field("architecture", a.architecture.rawValue, b.architecture.rawValue)
        field("flags", String(ea.flags), String(eb.flags))
        field("default memory", String(ea.defaultMemory), String(eb.defaultMemory))
        field("default CPUs", String(ea.defaultCPUs), String(eb.defaultCPUs))
        field("reserved", String(ea.reserved), String(eb.reserved))
        field("unused", String(ea.unused), String(eb.unused))
        let orderA = la.map { "\($0.section.type)" }.joined(separator: ", ")
        let orderB = lb.map { "\($0.section.type)" }.joined(separator: ", ")
        if orderA != orderB { c.add(["section table"], expected: orderA, actual: orderB) }

        for (x, y) in differing {
            guard let x, let y else {
                let describe = { (s: Labelled) in "\(s.section.size) bytes, sha384 \(s.sha384.hex)" }
                c.add([x?.label ?? y?.label ?? "section"], expected: x.map(describe), actual: y.map(describe))
                continue
            }
            try c.within([x.label]) { try section(x, a, y, b) }
        }

        if c.count == start {
            // Every section and header field matches: layout, trailing bytes or the checksum differ.
            let offsetsA = la.map { String($0.section.headerOffset) }.joined(separator: ", ")
            let offsetsB = lb.map { String($0.section.headerOffset) }.joined(separator: ", ")
            if offsetsA != offsetsB { c.add(["section table", "offsets"], expected: offsetsA, actual: offsetsB) }
            if a.trailingBytes != b.trailingBytes {
                c.add(["trailing bytes"], expected: "\(a.trailingBytes) bytes", actual: "\(b.trailingBytes) bytes")
            }
            if ea.crc32 != eb.crc32 {
                c.add(
                    ["header", "crc32"], expected: hex32(ea.crc32), actual: hex32(eb.crc32))
            }
        }
    }

    /// PCR0/1/2 (and PCR8 of signed images), named when they differ.
    private func measurements(_ a: EIFImage, _ b: EIFImage) throws {
        let ma = try a.measure().measurements
        let mb = try b.measure().measurements
        let c = session.collector
        for (name, x, y) in [
            ("PCR0", ma.pcr0.hex, mb.pcr0.hex), ("PCR1", ma.pcr1.hex, mb.pcr1.hex), ("PCR2", ma.pcr2.hex, mb.pcr2.hex),
        ] where x != y {
            c.add(["measurement \(name)"], expected: x, actual: y)
        }
        if ma.pcr8 != mb.pcr8 {
            c.add(["measurement PCR8"], expected: ma.pcr8?.hex ?? "unsigned", actual: mb.pcr8?.hex ?? "unsigned")
        }
    }

    private func section(_ x: Labelled, _ a: EIFImage, _ y: Labelled, _ b: EIFImage) throws {
        let c = session.collector
        let sa = ContentSource.range(path: a.file.path, x.section.dataOffset..<x.section.end)
        let sb = ContentSource.range(path: b.file.path, y.section.dataOffset..<y.section.end)
        func raw(text: Bool) throws {
            try session.contentDifference(
                ["content"], sa, x.section.size, x.sha384, sb, y.section.size, y.sha384,
                name: x.section.type.description.lowercased(), text: text, digest: "sha384")
        }
        switch x.section.type {
        case .cmdline:
            let ta = try a.data(of: x.section)
            let tb = try b.data(of: y.section)
            c.add(
                ["cmdline"], expected: String(decoding: ta, as: UTF8.self), actual: String(decoding: tb, as: UTF8.self))
        case .metadata:
            let before = c.count
            if let ja = try? JSONParser.parse(try a.data(of: x.section), format: "metadata"),
                let jb = try? JSONParser.parse(try b.data(of: y.section), format: "metadata")
            {
                session.compareJSON(ja, jb, location: [], key: "field")
            }
            if c.count == before { try raw(text: true) }
        case .signature:
            let before = c.count
            if let ga = try? EIFSignature.decode(try a.data(of: x.section)),
                let gb = try? EIFSignature.decode(try b.data(of: y.section))
            {
                let da = Digest.sha256(ga.certificatePEM).hex
                let db = Digest.sha256(gb.certificatePEM).hex
                if da != db { c.add(["certificate"], expected: "PEM sha256 \(da)", actual: "PEM sha256 \(db)") }
                let ca = Digest.sha256(ga.coseSign1).hex
                let cb = Digest.sha256(gb.coseSign1).hex
                if ca != cb {
                    c.add(
                        ["COSE_Sign1"], expected: "\(ga.coseSign1.count) bytes, sha256 \(ca)",
                        actual: "\(gb.coseSign1.count) bytes, sha256 \(cb)")
                }
            }
            if c.count == before { try raw(text: false) }
        case .ramdisk:
            let before = c.count
            do {
                let ea = try CPIOStream.entries(of: a.file, range: x.section.dataOffset..<x.section.end)
                let eb = try CPIOStream.entries(of: b.file, range: y.section.dataOffset..<y.section.end)
                try session.compareEntries(ea, eb, nested: false)
            } catch let error as FormatError {
                c.add(
                    ["content"], expected: "\(x.section.size) bytes, sha384 \(x.sha384.hex)",
                    actual: "\(y.section.size) bytes, sha384 \(y.sha384.hex)",
                    detail: ["not readable as a cpio archive: \(error)"])
                return
            }
            if c.count == before { try raw(text: false) }
        default:
            try raw(text: false)
        }
    }
}

/// `0x` and 8 hex digits.
func hex32(_ value: UInt32) -> String {
    let s = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}
