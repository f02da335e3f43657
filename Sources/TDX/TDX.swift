/// The `TDX` module: offline Intel TDX measurements of an OVMF/TDVF direct kernel boot.
///
/// - ``MRTD``: the build-time measurement of the firmware (both page-add orders, the PAGE.AUG rule).
/// - ``TDXMeasurer``: RTMR0-3 by replaying the boot's events (TD HOB, CFV, Secure Boot variables, ACPI
///   blobs, boot variables, kernel Authenticode, EFI-stub cmdline and initrd), each event with its digest.
/// - ``Authenticode``: the PE/COFF Authenticode hash (SHA-384, SHA-256).
/// - ``TDXEventLog``: replay of a TD's CCEL/TCG2 event log to RTMRs.
///
/// See `docs/tdx-and-sev-snp.md` §1-2 for the byte layouts.
public enum TDXModule {
    /// The module's name, for diagnostics.
    public static let name = "TDX"
}
