import EnclaveCore
import OVMF

/// The order in which the VMM adds and measures TDVF pages (<doc:MRTDComputation>).
///
/// ```swift
/// let order = try TDXPageAddOrder(qemuVersion: "8.2")   // .twoPass
/// ```
public enum TDXPageAddOrder: String, Sendable, CaseIterable {
    /// For each page: TDH.MEM.PAGE.ADD then its 16 TDH.MR.EXTENDs (upstream KVM, QEMU ≥ 9, GCE).
    case perPage = "per-page"
    /// For each section: every PAGE.ADD, then every MR.EXTEND (QEMU 8.x TDX trees, e.g. Canonical 8.2.2).
    case twoPass = "two-pass"

    /// The order a QEMU version uses: two-pass for 8.x, per-page from 9.0 on (dstack-mr's rule).
    /// Versions before 8.0 had no TDX support and are rejected.
    public init(qemuVersion: QEMUVersion) throws(TDXError) {
        guard qemuVersion.major >= 8 else {
            throw TDXError.noTDXSupport(qemuVersion)
        }
        self = qemuVersion.major == 8 ? .twoPass : .perPage
    }
}

/// A QEMU version `MAJOR.MINOR[.PATCH]`, the VMM input that picks the page-add order and whether QEMU
/// rewrites the kernel's setup header.
///
/// ```swift
/// let v = try QEMUVersion("10.2")    // v >= QEMUVersion(10, 2)
/// ```
public struct QEMUVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    public init(_ text: String) throws(TDXError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard (2...3).contains(parts.count), let major = parts[0], let minor = parts[1],
            let patch = parts.count == 3 ? parts[2] : 0, major >= 0, minor >= 0, patch >= 0
        else {
            throw TDXError.invalidQEMUVersion(text)
        }
        self.init(major, minor, patch)
    }

    public static func < (a: QEMUVersion, b: QEMUVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public var description: String { patch == 0 ? "\(major).\(minor)" : "\(major).\(minor).\(patch)" }

    /// The default when no version is given: 9.1, as in dstack-mr.
    public static let defaultVersion = QEMUVersion(9, 1)
    /// First QEMU that leaves the kernel header alone for confidential guests (commit a7542a38f399).
    public static let unpatchedKernelHeader = QEMUVersion(10, 2)
}

/// MRTD, the TD's build-time measurement: SHA-384 over the 128-byte TDH.MEM.PAGE.ADD and TDH.MR.EXTEND
/// records (plus the 256 measured bytes) for every TDVF section page (TDX module spec, TDH.MEM.PAGE.ADD
/// and TDH.MR.EXTEND; <doc:MRTDComputation>).
///
/// ```swift
/// let fw = try FileInput.contents(of: "OVMF.fd")
/// let mrtd = try MRTD.compute(firmware: fw, metadata: TDVFMetadata(firmware: fw), order: .perPage)
/// ```
public enum MRTD {
    /// Computes MRTD. `skipPageAug` leaves out PAGE.ADD for PAGE.AUG sections (dstack-mr, td-shim); false
    /// page-adds them anyway (gce-tcb-verifier never checks the bit).
    public static func compute(
        firmware: [UInt8], metadata: TDVFMetadata, order: TDXPageAddOrder, skipPageAug: Bool = true
    ) throws(FormatError) -> [UInt8] {
        guard firmware.count == metadata.firmwareSize else {
            throw FormatError(
                .badValue, format: TDVFMetadata.format, offset: nil,
                "metadata was read from a \(metadata.firmwareSize)-byte image, not this \(firmware.count)-byte one")
        }
        let h = Digest(.sha384)
        var record = [UInt8](repeating: 0, count: 128)
        let zeros = [UInt8](repeating: 0, count: 256)
        func pageAdd(_ s: TDVFSection, _ page: UInt64) {
            guard !(skipPageAug && s.isPageAug) else { return }
            write(&record, tag: "MEM.PAGE.ADD", gpa: s.memoryAddress + page * 4096)
            h.update(record)
        }
        func extend(_ s: TDVFSection, _ page: UInt64) {
            guard s.measuresContents else { return }
            let fromFile = s.type == .bfv || s.type == .cfv
            for chunk in 0..<UInt64(16) {
                let offset = page * 4096 + chunk * 256
                write(&record, tag: "MR.EXTEND", gpa: s.memoryAddress + offset)
                h.update(record)
                if fromFile {
                    // In bounds: validated against the image size when the metadata was parsed.
                    let start = Int(s.dataOffset) + Int(offset)
                    firmware.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[start..<start + 256])) }
                } else {
                    h.update(zeros)
                }
            }
        }
        for s in metadata.sections {
            switch order {
            case .perPage:
                for page in 0..<s.pageCount {
                    pageAdd(s, page)
                    extend(s, page)
                }
            case .twoPass:
                for page in 0..<s.pageCount { pageAdd(s, page) }
                for page in 0..<s.pageCount { extend(s, page) }
            }
        }
        return h.finalize()
    }

    private static func write(_ record: inout [UInt8], tag: String, gpa: UInt64) {
        for i in 0..<128 { record[i] = 0 }
        for (i, c) in tag.utf8.enumerated() { record[i] = c }
        for i in 0..<8 { record[16 + i] = UInt8(truncatingIfNeeded: gpa >> (8 * UInt64(i))) }
    }
}
