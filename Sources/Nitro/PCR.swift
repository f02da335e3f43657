import EnclaveCore

/// Nitro PCR arithmetic (<doc:PCRMeasurements>): every PCR is a single TPM-style extend of
/// an all-zero register, `PCR(x) = H(0^n ‖ H(x))`.
public enum PCR {
    /// Extends a zero register with `digest` (the hash of the measured bytes).
    public static func extendZero(_ digest: [UInt8], _ algorithm: HashAlgorithm = .sha384) -> [UInt8] {
        Digest.hash(algorithm, [UInt8](repeating: 0, count: algorithm.digestSize) + digest)
    }

    /// `PCR(bytes)`, as `nitro-cli pcr --input FILE` prints it.
    public static func of(_ bytes: [UInt8], _ algorithm: HashAlgorithm = .sha384) -> [UInt8] {
        extendZero(Digest.hash(algorithm, bytes), algorithm)
    }

    /// `nitro-cli`'s HashAlgorithm text: the Debug form of the sha2 0.9 hasher it ships.
    public static func algorithmName(_ algorithm: HashAlgorithm) -> String {
        switch algorithm {
        case .sha256: "Sha256 { ... }"
        case .sha384: "Sha384 { ... }"
        case .sha512: "Sha512 { ... }"
        }
    }
}

/// The measurements of an EIF: what the Nitro hypervisor reports in an attestation document.
public struct EIFMeasurements: Sendable, Equatable {
    public var algorithm: HashAlgorithm = .sha384
    /// Kernel, cmdline and every ramdisk.
    public var pcr0: [UInt8]
    /// Kernel, cmdline and the first (bootstrap) ramdisk.
    public var pcr1: [UInt8]
    /// The remaining (application) ramdisks.
    public var pcr2: [UInt8]
    /// The signing certificate, when the EIF is signed.
    public var pcr8: [UInt8]?

    /// `{"HashAlgorithm": …, "PCR0": …}` as nitro-cli prints it (keys sorted, PCR8 only when signed).
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("HashAlgorithm", .string(PCR.algorithmName(algorithm))),
            ("PCR0", .string(pcr0.hex)), ("PCR1", .string(pcr1.hex)), ("PCR2", .string(pcr2.hex)),
        ]
        if let pcr8 { pairs.append(("PCR8", .string(pcr8.hex))) }
        return .object(pairs)
    }
}

/// Streams a byte source section by section into the PCR hashers, reading every byte once.
///
/// PCR0 and PCR1 share the kernel‖cmdline‖ramdisk0 prefix, which is hashed once and forked; PCR0 and
/// PCR2 both need the application ramdisks: PCR2 is hashed on a second core while PCR0 hashes the same
/// chunk on the reading thread.
struct PCRAccumulator {
    enum Role { case kernel, cmdline, ramdisk, unmeasured }

    let algorithm: HashAlgorithm
    private let image: Digest
    private let app: Digest
    /// Only when the kernel or cmdline follows the first ramdisk (no eif_build output does that).
    private let bootstrap: Digest?
    private var bootstrapResult: [UInt8]?
    private var ramdiskIndex = 0

    /// `roles` lists the measured sections in the order they will be fed.
    init(algorithm: HashAlgorithm, roles: [Role]) {
        self.algorithm = algorithm
        image = Digest(algorithm)
        app = Digest(algorithm)
        let measured = roles.filter { $0 != .unmeasured }
        let firstRamdisk = measured.firstIndex(of: .ramdisk) ?? measured.count
        let prefixComplete = measured[..<firstRamdisk].contains(.kernel) && measured[..<firstRamdisk].contains(.cmdline)
        bootstrap = prefixComplete ? nil : Digest(algorithm)
    }

    /// The hashers a chunk of a section with `role` goes to.
    func lanes(for role: Role) -> [Digest] {
        switch role {
        case .unmeasured: []
        case .kernel, .cmdline: [image] + (bootstrap.map { [$0] } ?? [])
        case .ramdisk: ramdiskIndex == 0 ? [image] + (bootstrap.map { [$0] } ?? []) : [image, app]
        }
    }

    /// Feeds one chunk of a section to its hashers: the first on this thread, any other through
    /// `background` (a second core, see ``FileStream/forEachChunk(of:ranges:chunkSize:slots:progress:overlapping:)``).
    func feed(_ chunk: UnsafeRawBufferPointer, role: Role, background: (any ChunkConsumer) -> Void) {
        let digests = lanes(for: role)
        for digest in digests.dropFirst() { background(digest) }
        digests.first?.update(chunk)
    }

    /// Feeds one chunk to every hasher on this thread (for small sections).
    func feed(_ chunk: UnsafeRawBufferPointer, role: Role) {
        for digest in lanes(for: role) { digest.update(chunk) }
    }

    /// Called after the last chunk of a section.
    mutating func finishSection(_ role: Role) {
        guard role == .ramdisk else { return }
        if ramdiskIndex == 0, bootstrap == nil { bootstrapResult = image.copy().finalize() }
        ramdiskIndex += 1
    }

    func finalize() -> (pcr0: [UInt8], pcr1: [UInt8], pcr2: [UInt8]) {
        let pcr1Hash = bootstrap?.finalize() ?? bootstrapResult ?? image.copy().finalize()
        return (
            PCR.extendZero(image.finalize(), algorithm), PCR.extendZero(pcr1Hash, algorithm),
            PCR.extendZero(app.finalize(), algorithm)
        )
    }
}

extension PCRAccumulator.Role {
    init(_ type: EIFSectionType) {
        switch type {
        case .kernel: self = .kernel
        case .cmdline: self = .cmdline
        case .ramdisk: self = .ramdisk
        default: self = .unmeasured
        }
    }
}

/// The result of reading a whole EIF: its PCRs and its checksum.
public struct EIFVerification: Sendable {
    public var measurements: EIFMeasurements
    public var storedCRC: UInt32
    /// Nil when the checksum was not computed.
    public var computedCRC: UInt32?
    public var crcMatches: Bool? { computedCRC.map { $0 == storedCRC } }
}

extension EIFImage {
    /// Reads every section once and computes PCR0/1/2 (and PCR8 if signed); with `checkCRC`, also
    /// the CRC-32 over the header and the sections in table order.
    public func measure(
        algorithm: HashAlgorithm = .sha384, checkCRC: Bool = false, progress: (any ProgressSink)? = nil
    ) throws -> EIFVerification {
        var pcrs = PCRAccumulator(algorithm: algorithm, roles: sections.map { .init($0.type) })
        // With checkCRC the checksum runs on the second core beside PCR2; the headers between sections are
        // added here, once the lane has drained.
        let crc = RunningCRC32()
        if checkCRC {
            let header = try file.read(at: 0, count: EIFLayout.crcOffset, format: Self.format)
            crc.update(header)
        }
        for section in sections {
            let role = PCRAccumulator.Role(section.type)
            if checkCRC {
                let sh = try file.read(
                    at: section.headerOffset, count: EIFLayout.sectionHeaderSize, format: Self.format)
                crc.update(sh)
            }
            if role == .unmeasured, !checkCRC {
                progress?.advance(by: section.size)
                continue
            }
            try FileStream.forEachChunk(
                of: file, ranges: [section.dataOffset..<section.end], progress: progress,
                overlapping: { _, chunk, background in
                    if checkCRC { background(crc) }
                    pcrs.feed(chunk, role: role, background: background)
                })
            pcrs.finishSection(role)
        }
        let (pcr0, pcr1, pcr2) = pcrs.finalize()
        var m = EIFMeasurements(algorithm: algorithm, pcr0: pcr0, pcr1: pcr1, pcr2: pcr2)
        if let sig = section(.signature) {
            let signature = try EIFSignature.decode(try data(of: sig), baseOffset: sig.dataOffset)
            m.pcr8 = PCR.of(try signature.certificateDER(), algorithm)
        }
        return EIFVerification(measurements: m, storedCRC: header.crc32, computedCRC: checkCRC ? crc.value : nil)
    }
}
