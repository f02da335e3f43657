import EnclaveCore

/// The EIF metadata section (version 4): `serde_json::to_vec(&EifIdentityInfo)`, compact, keys in
/// eif_build's struct order (<doc:EIFFileFormat>, "Section contents"). Not measured.
public struct EIFMetadata: Sendable, Equatable {
    public var imageName: String
    public var imageVersion: String
    /// RFC 3339; EnclaveKit never fills it from the wall clock.
    public var buildTime: String
    public var buildTool: String
    public var buildToolVersion: String
    public var operatingSystem: String
    public var kernelVersion: String
    public var dockerInfo: JSONValue = .null
    public var customMetadata: JSONValue = .null

    public init(
        imageName: String, imageVersion: String, buildTime: String, buildTool: String = "eif_build",
        buildToolVersion: String = "0.3.1", operatingSystem: String = "OS", kernelVersion: String = "kernel"
    ) {
        self.imageName = imageName
        self.imageVersion = imageVersion
        self.buildTime = buildTime
        self.buildTool = buildTool
        self.buildToolVersion = buildToolVersion
        self.operatingSystem = operatingSystem
        self.kernelVersion = kernelVersion
    }

    public var json: JSONValue {
        .object([
            ("ImageName", .string(imageName)), ("ImageVersion", .string(imageVersion)),
            (
                "BuildMetadata",
                .object([
                    ("BuildTime", .string(buildTime)), ("BuildTool", .string(buildTool)),
                    ("BuildToolVersion", .string(buildToolVersion)), ("OperatingSystem", .string(operatingSystem)),
                    ("KernelVersion", .string(kernelVersion)),
                ])
            ),
            ("DockerInfo", dockerInfo), ("CustomMetadata", customMetadata),
        ])
    }

    public func encoded() -> [UInt8] { Array(json.serialized(style: .compact).utf8) }

    /// `OperatingSystem` and `KernelVersion` as nitro-cli derives them from a kernel config: words 1 and
    /// 3 of the third line, split on space, `/` and `-` (`# Linux/x86_64 4.14.256-209… Kernel Configuration`).
    public static func kernelInfo(fromConfig text: String) -> (os: String, kernel: String)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3 else { return nil }
        let words = lines[2].split(omittingEmptySubsequences: false) { $0 == " " || $0 == "/" || $0 == "-" }
        guard words.count > 3 else { return nil }
        return (String(words[1]), String(words[3]))
    }

    /// RFC 3339 in UTC with `+00:00`, as chrono's `to_rfc3339` prints whole seconds.
    public static func rfc3339(epochSeconds: Int64) -> String {
        CivilTime.format(seconds: epochSeconds, zone: "+00:00")
    }
}

/// What goes into an EIF.
public struct EIFBuildRequest: Sendable {
    public var kernelPath: String
    /// The command line, measured as these exact bytes (no NUL).
    public var cmdline: String
    /// Ramdisks in order: the first is the bootstrap ramdisk (PCR1), the rest are the application (PCR2).
    public var ramdiskPaths: [String]
    public var architecture: EIFArchitecture = .x86_64
    public var metadata: EIFMetadata
    public var signer: EIFSigner?
    public var algorithm: HashAlgorithm = .sha384

    public init(kernelPath: String, cmdline: String, ramdiskPaths: [String], metadata: EIFMetadata) {
        self.kernelPath = kernelPath
        self.cmdline = cmdline
        self.ramdiskPaths = ramdiskPaths
        self.metadata = metadata
    }
}

/// Writes EIF version 4 files byte for byte as `eif_build` does: sections Kernel, Cmdline, Metadata,
/// Ramdisk…, [Signature], back to back after the 548-byte header, CRC-32 over everything but the CRC.
///
/// Every input is read once: the same chunk is hashed for the PCRs, checksummed and written out. The
/// header, which needs the signature's size, is written last at offset 0, and its CRC is combined
/// with the body's. The output appears atomically or not at all.
///
/// ```swift
/// let m = try EIFBuilder.build(request, to: "image.eif")
/// ```
public enum EIFBuilder {
    /// Where a section's bytes come from.
    public enum Source: Sendable {
        case bytes([UInt8])
        case file(FileInput, Range<UInt64>)
    }

    /// `existing`: whether an existing file at `outputPath` is replaced or refused (`AtomicOutput.ExistingFile`).
    public static func build(
        _ request: EIFBuildRequest, to outputPath: String, existing: AtomicOutput.ExistingFile = .replace,
        progress: (any ProgressSink)? = nil
    ) throws -> EIFMeasurements {
        guard !request.ramdiskPaths.isEmpty else { throw NitroError.noRamdisk }
        guard !request.cmdline.utf8.contains(0) else { throw NitroError.nulInCommandLine }
        let kernel = try openInput(request.kernelPath, "kernel")
        let ramdisks = try request.ramdiskPaths.map { try openInput($0, "ramdisk") }
        let sections: [(EIFSectionType, Source)] =
            [
                (.kernel, .file(kernel, 0..<kernel.size)), (.cmdline, .bytes(Array(request.cmdline.utf8))),
                (.metadata, .bytes(request.metadata.encoded())),
            ] + ramdisks.map { (.ramdisk, .file($0, 0..<$0.size)) }
        return try write(
            sections: sections, architecture: request.architecture, signer: request.signer,
            algorithm: request.algorithm, to: outputPath, existing: existing, progress: progress)
    }

    /// Signs an existing EIF (as `nitro-cli sign-eif` does): its sections are copied in table order,
    /// back to back, without any previous signature, and a signature over its PCR0 is appended.
    public static func sign(
        _ image: EIFImage, with signer: EIFSigner, to outputPath: String, progress: (any ProgressSink)? = nil
    )
        throws -> EIFMeasurements
    {
        let sections: [(EIFSectionType, Source)] = image.sections.filter { $0.type != .signature }.map {
            ($0.type, .file(image.file, $0.dataOffset..<$0.end))
        }
        return try write(
            sections: sections, architecture: image.architecture, signer: signer, algorithm: .sha384, to: outputPath,
            progress: progress)
    }

    /// Writes `sections` in order after the header, then the signature section if there is a signer.
    public static func write(
        sections: [(EIFSectionType, Source)], architecture: EIFArchitecture, signer: EIFSigner?,
        algorithm: HashAlgorithm, to outputPath: String, existing: AtomicOutput.ExistingFile = .replace,
        progress: (any ProgressSink)? = nil
    ) throws -> EIFMeasurements {
        let out = try AtomicOutput(path: outputPath, existing: existing)
        try out.write([UInt8](repeating: 0, count: EIFLayout.headerSize))
        var body = CRC32()
        var offsets: [UInt64] = []
        var sizes: [UInt64] = []
        var pcrs = PCRAccumulator(algorithm: algorithm, roles: sections.map { .init($0.0) })

        func sectionHeader(_ type: EIFSectionType, _ size: UInt64) throws {
            var w = ByteWriter(capacity: EIFLayout.sectionHeaderSize)
            w.appendU16BE(type.raw)
            w.appendU16BE(0)
            w.appendU64BE(size)
            offsets.append(out.bytesWritten)
            sizes.append(size)
            body.update(w.bytes)
            try out.write(w.bytes)
        }
        func section(_ type: EIFSectionType, _ source: Source) throws {
            let role = PCRAccumulator.Role(type)
            switch source {
            case .bytes(let bytes):
                try sectionHeader(type, UInt64(bytes.count))
                try bytes.withUnsafeBytes { buffer in
                    pcrs.feed(buffer, role: role)
                    body.update(buffer)
                    try out.write(buffer)
                }
            case .file(let file, let range):
                try sectionHeader(type, range.upperBound - range.lowerBound)
                try FileStream.forEachChunk(
                    of: file, ranges: [range], progress: progress,
                    overlapping: { _, chunk, background in
                        pcrs.feed(chunk, role: role, background: background)
                        body.update(chunk)
                        try out.write(chunk)
                    })
            }
            pcrs.finishSection(role)
        }

        for (type, source) in sections { try section(type, source) }
        let (pcr0, pcr1, pcr2) = pcrs.finalize()
        var measurements = EIFMeasurements(algorithm: algorithm, pcr0: pcr0, pcr1: pcr1, pcr2: pcr2)
        if let signer {
            try section(.signature, .bytes(try signer.sign(pcr0: pcr0).encoded()))
            measurements.pcr8 = try signer.pcr8(algorithm)
        }

        var header = EIFHeader()
        header.flags = architecture.flags
        header.sectionOffsets = offsets
        header.sectionSizes = sizes
        let headerCRC = CRC32.checksum(Array(header.encoded().prefix(EIFLayout.crcOffset)))
        header.crc32 = CRC32.combine(headerCRC, body.value, lengthB: out.bytesWritten - UInt64(EIFLayout.headerSize))
        try out.write(header.encoded(), at: 0)
        try out.commit()
        return measurements
    }

    private static func openInput(_ path: String, _ what: String) throws -> FileInput {
        do {
            return try FileInput(path: path)
        } catch {
            throw NitroError.unreadableInput(role: what, reason: "\(error)")
        }
    }
}
