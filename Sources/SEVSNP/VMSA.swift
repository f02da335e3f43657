/// The initial VMSA (SEV-ES save area, AMD APM vol. 2 table B-4) that QEMU/KVM, EC2 or GCE hands to the
/// SEV-SNP firmware for each vCPU (<doc:VMSAPage>). Fields not listed there are 0.
///
/// ```swift
/// let bsp = SNPVMSA.page(eip: SNPVMSA.bspEIP, sevFeatures: 0x1, vcpuSignature: 0x0080_0f12, vmm: .qemu)
/// ```
public enum SNPVMSA {
    /// The boot processor starts at the reset vector.
    public static let bspEIP: UInt32 = 0xFFFF_FFF0
    public static let size = 4096

    // Offsets in the save area.
    static let es = 0x00, cs = 0x10, ss = 0x20, ds = 0x30, fs = 0x40, gs = 0x50
    static let gdtr = 0x60, ldtr = 0x70, idtr = 0x80, tr = 0x90
    static let efer = 0xd0, cr4 = 0x148, cr0 = 0x158, dr7 = 0x160, dr6 = 0x168, rflags = 0x170, rip = 0x178
    static let gPAT = 0x268, rdx = 0x310, sevFeatures = 0x3b0, xcr0 = 0x3e8, mxcsr = 0x408, x87FCW = 0x410

    /// One VMSA page for a vCPU that starts at `eip`.
    public static func page(eip: UInt32, sevFeatures: UInt64, vcpuSignature: UInt32, vmm: SNPVMMType) -> [UInt8] {
        var csFlags: UInt16 = 0x9b
        var ssFlags: UInt16 = 0x93
        var trFlags: UInt16 = 0x8b
        var gPAT: UInt64 = 0x0007_0406_0007_0406  // PAT MSR reset value, APM vol. 2 §A.3
        var rdx = UInt64(vcpuSignature)
        var mxcsr: UInt32 = 0x1f80
        var fcw: UInt16 = 0x37f
        switch vmm {
        case .qemu:
            break
        case .ec2:
            if eip == bspEIP { csFlags = 0x9a }
            ssFlags = 0x92
            trFlags = 0x83
            rdx = 0x600
            mxcsr = 0
            fcw = 0
        case .gce:
            gPAT = 0x0007_0106
            rdx = 0x600
            mxcsr = 0
            fcw = 0
        }
        var p = [UInt8](repeating: 0, count: size)
        func put<T: FixedWidthInteger>(_ offset: Int, _ value: T) {
            for i in 0..<(T.bitWidth / 8) { p[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        func segment(_ offset: Int, selector: UInt16, attrib: UInt16, limit: UInt32, base: UInt64) {
            put(offset, selector)
            put(offset + 2, attrib)
            put(offset + 4, limit)
            put(offset + 8, base)
        }
        segment(es, selector: 0, attrib: 0x93, limit: 0xffff, base: 0)
        segment(cs, selector: 0xf000, attrib: csFlags, limit: 0xffff, base: UInt64(eip & 0xffff_0000))
        segment(ss, selector: 0, attrib: ssFlags, limit: 0xffff, base: 0)
        segment(ds, selector: 0, attrib: 0x93, limit: 0xffff, base: 0)
        segment(fs, selector: 0, attrib: 0x93, limit: 0xffff, base: 0)
        segment(gs, selector: 0, attrib: 0x93, limit: 0xffff, base: 0)
        segment(gdtr, selector: 0, attrib: 0, limit: 0xffff, base: 0)
        segment(idtr, selector: 0, attrib: 0, limit: 0xffff, base: 0)
        segment(ldtr, selector: 0, attrib: 0x82, limit: 0xffff, base: 0)
        segment(tr, selector: 0, attrib: trFlags, limit: 0xffff, base: 0)
        put(efer, UInt64(0x1000))  // KVM sets EFER.SVME
        put(cr4, UInt64(0x40))  // KVM sets CR4.MCE
        put(cr0, UInt64(0x10))
        put(dr7, UInt64(0x400))
        put(dr6, UInt64(0xffff_0ff0))
        put(rflags, UInt64(0x2))
        put(rip, UInt64(eip & 0xffff))
        put(Self.gPAT, gPAT)
        put(Self.rdx, rdx)
        put(Self.sevFeatures, sevFeatures)
        put(xcr0, UInt64(0x1))
        put(Self.mxcsr, mxcsr)
        put(x87FCW, fcw)
        return p
    }
}
