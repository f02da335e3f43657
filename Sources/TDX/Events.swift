import EnclaveCore
import OVMF

/// One measured boot event: the runtime measurement register it extends, its TCG event type, a
/// readable name, and its digest (SHA-384 of the event's measured data).
///
/// ```swift
/// let e = TDXEvent(rtmr: 1, type: .efiAction, name: "Calling EFI Application from Boot Option",
///                  digest: Digest.sha384(utf8: "Calling EFI Application from Boot Option"))
/// ```
public struct TDXEvent: Sendable, Equatable {
    /// TCG PC Client event types that appear in a TDX boot (TCG PC Client PFP spec §10.4.1).
    public struct EventType: Sendable, Hashable, CustomStringConvertible {
        public let raw: UInt32
        public init(_ raw: UInt32) { self.raw = raw }

        public static let postCode = EventType(0x1)
        public static let noAction = EventType(0x3)
        public static let separator = EventType(0x4)
        public static let action = EventType(0x5)
        public static let eventTag = EventType(0x6)
        public static let platformConfigFlags = EventType(0xa)
        public static let efiVariableDriverConfig = EventType(0x8000_0001)
        public static let efiVariableBoot = EventType(0x8000_0002)
        public static let efiBootServicesApplication = EventType(0x8000_0003)
        public static let efiAction = EventType(0x8000_0007)
        public static let efiPlatformFirmwareBlob2 = EventType(0x8000_000a)
        public static let efiHandoffTables2 = EventType(0x8000_000b)
        public static let efiVariableAuthority = EventType(0x8000_00e0)

        static let names: [UInt32: String] = [
            0x0: "EV_PREBOOT_CERT", 0x1: "EV_POST_CODE", 0x3: "EV_NO_ACTION", 0x4: "EV_SEPARATOR",
            0x5: "EV_ACTION", 0x6: "EV_EVENT_TAG", 0x7: "EV_S_CRTM_CONTENTS", 0x8: "EV_S_CRTM_VERSION",
            0x9: "EV_CPU_MICROCODE", 0xa: "EV_PLATFORM_CONFIG_FLAGS", 0xb: "EV_TABLE_OF_DEVICES",
            0xc: "EV_COMPACT_HASH", 0xd: "EV_IPL", 0xe: "EV_IPL_PARTITION_DATA", 0xf: "EV_NONHOST_CODE",
            0x10: "EV_NONHOST_CONFIG", 0x11: "EV_NONHOST_INFO", 0x12: "EV_OMIT_BOOT_DEVICE_EVENTS",
            0x8000_0001: "EV_EFI_VARIABLE_DRIVER_CONFIG", 0x8000_0002: "EV_EFI_VARIABLE_BOOT",
            0x8000_0003: "EV_EFI_BOOT_SERVICES_APPLICATION", 0x8000_0004: "EV_EFI_BOOT_SERVICES_DRIVER",
            0x8000_0005: "EV_EFI_RUNTIME_SERVICES_DRIVER", 0x8000_0006: "EV_EFI_GPT_EVENT",
            0x8000_0007: "EV_EFI_ACTION", 0x8000_0008: "EV_EFI_PLATFORM_FIRMWARE_BLOB",
            0x8000_0009: "EV_EFI_HANDOFF_TABLES", 0x8000_000a: "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
            0x8000_000b: "EV_EFI_HANDOFF_TABLES2", 0x8000_000c: "EV_EFI_VARIABLE_BOOT2",
            0x8000_0010: "EV_EFI_HCRTM_EVENT", 0x8000_00e0: "EV_EFI_VARIABLE_AUTHORITY",
            0x8000_00e1: "EV_EFI_SPDM_FIRMWARE_BLOB", 0x8000_00e2: "EV_EFI_SPDM_FIRMWARE_CONFIG",
        ]

        public var description: String { Self.names[raw] ?? "EV_0x\(String(raw, radix: 16))" }
    }

    /// 0…3 for RTMR0…RTMR3.
    public let rtmr: Int
    public let type: EventType
    public let name: String
    public let digest: [UInt8]

    public init(rtmr: Int, type: EventType, name: String, digest: [UInt8]) {
        self.rtmr = rtmr
        self.type = type
        self.name = name
        self.digest = digest
    }
}

/// Runtime measurement registers replayed from events: `RTMR = SHA384(RTMR ‖ digest)` from 48 zero bytes
/// (TDX module spec TDG.MR.RTMR.EXTEND; <doc:RTMRReplay>).
///
/// ```swift
/// let rtmrs = RTMR.replay(events)   // four 48-byte values
/// ```
public enum RTMR {
    public static let count = 4

    public static func extend(_ register: [UInt8], _ digest: [UInt8]) -> [UInt8] {
        Digest.sha384(register + digest)
    }

    public static func replay(_ events: [TDXEvent]) -> [[UInt8]] {
        var registers = [[UInt8]](repeating: [UInt8](repeating: 0, count: 48), count: count)
        for e in events where (0..<count).contains(e.rtmr) {
            registers[e.rtmr] = extend(registers[e.rtmr], e.digest)
        }
        return registers
    }
}

/// UEFI variable measurement data (`UEFI_VARIABLE_DATA`, TCG PC Client PFP spec §10.2.6): VariableName
/// GUID ‖ u64 name length in characters ‖ u64 data length ‖ UTF-16LE name (no NUL) ‖ data.
///
/// ```swift
/// let bytes = EFIVariableData.encode(vendor: .efiGlobalVariable, name: "SecureBoot", data: [])
/// ```
public enum EFIVariableData {
    public static let efiGlobalVariable = EFIGUID(constant: "8be4df61-93ca-11d2-aa0d-00e098032b8c")
    public static let imageSecurityDatabase = EFIGUID(constant: "d719b2cb-3d3a-4596-a3bc-dad00e67656f")

    public static func encode(vendor: EFIGUID, name: String, data: [UInt8]) -> [UInt8] {
        let name16 = Array(name.utf16)
        var w = ByteWriter(capacity: 32 + name16.count * 2 + data.count)
        w.append(vendor.bytes)
        w.appendU64LE(UInt64(name16.count))
        w.appendU64LE(UInt64(data.count))
        for c in name16 { w.appendU16LE(c) }
        w.append(data)
        return w.bytes
    }
}

extension EFIGUID {
    /// A GUID written in the TDX module's source; a typo is a programming error.
    init(constant text: String) {
        guard let guid = EFIGUID(text) else { preconditionFailure("malformed GUID constant \(text)") }
        self = guid
    }
}
