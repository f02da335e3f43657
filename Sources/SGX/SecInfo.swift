import EnclaveCore

/// SGX EPC page types (Intel SDM Vol. 3D §34.12.2, SECINFO.FLAGS bits 15:8).
public enum SGXPageType: UInt8, Sendable {
    case secs = 0
    case tcs = 1
    case reg = 2
    case va = 3
    case trim = 4
}

/// SECINFO.FLAGS as measured by EADD (Intel SDM Vol. 3D §34.12.2): bit 0 R, bit 1 W, bit 2 X,
/// bits 15:8 the page type. Only R/W/X and the page type may be set, as Linux
/// (`sgx_validate_secinfo`) and the Intel SDK require.
///
/// ```swift
/// let code = SecInfoFlags.reg(read: true, execute: true)   // 0x205
/// ```
public struct SecInfoFlags: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let read: UInt64 = 0x1
    public static let write: UInt64 = 0x2
    public static let execute: UInt64 = 0x4
    /// A TCS page: type 1, no permissions (EADD measures a TCS as 0x100).
    public static let tcs = SecInfoFlags(rawValue: 0x100)

    /// A regular page with the given permissions.
    public static func reg(read: Bool = false, write: Bool = false, execute: Bool = false) -> SecInfoFlags {
        var v: UInt64 = 0x200
        if read { v |= Self.read }
        if write { v |= Self.write }
        if execute { v |= Self.execute }
        return SecInfoFlags(rawValue: v)
    }

    public var pageType: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 8) }
    public var permissions: UInt64 { rawValue & 0x7 }

    /// `REG:RW-`, `TCS:---`.
    public var description: String {
        let type: String
        switch SGXPageType(rawValue: pageType) {
        case .tcs: type = "TCS"
        case .reg: type = "REG"
        case .secs: type = "SECS"
        case .va: type = "VA"
        case .trim: type = "TRIM"
        case nil: type = "TYPE\(pageType)"
        }
        let r = rawValue & Self.read != 0 ? "R" : "-"
        let w = rawValue & Self.write != 0 ? "W" : "-"
        let x = rawValue & Self.execute != 0 ? "X" : "-"
        return "\(type):\(r)\(w)\(x)"
    }

    /// Why these flags cannot be EADDed, or nil when they can.
    public var eaddProblem: String? {
        if rawValue & ~UInt64(0xff07) != 0 {
            return "SECINFO.FLAGS 0x\(String(rawValue, radix: 16)) sets bits other than R/W/X and the page type"
        }
        switch SGXPageType(rawValue: pageType) {
        case .tcs:
            if permissions != 0 {
                return "a TCS page must have no R/W/X permissions (flags 0x100), got 0x\(String(rawValue, radix: 16))"
            }
        case .reg:
            if rawValue & Self.write != 0 && rawValue & Self.read == 0 {
                return "a REG page with W must also have R (flags 0x\(String(rawValue, radix: 16)))"
            }
        default:
            return "page type \(pageType) cannot be added with EADD (only REG 2 and TCS 1)"
        }
        return nil
    }
}
