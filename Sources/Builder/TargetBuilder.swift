import EnclaveCore
import Nitro
import Recipe
import SEVSNP
import SGX
import TDX

/// Maps a recipe target onto ``TargetAssembly``: resolves its file references and turns its settings
/// into the measurement modules' inputs.
enum TargetBuilder {
    static func build(_ target: RecipeTarget, references: ReferenceResolver, context: TargetContext) throws
        -> BuiltTarget
    {
        switch target.settings {
        case .nitro(let n):
            var spec = NitroTargetSpec(
                name: target.name, kernel: try references.file(n.kernel), cmdline: n.cmdline,
                initPath: try references.file(n.initProgram))
            spec.nsmPath = try n.nsm.map { try references.file($0) }
            spec.kernelConfig = try n.kernelConfig.map { try references.file($0) }
            guard let arch = EIFArchitecture(rawValue: n.arch) else {
                throw BuildRefusal(
                    .unsupported, "target '\(target.name)': unknown arch '\(n.arch)'", remedy: "use x86_64 or aarch64")
            }
            spec.architecture = arch
            spec.imageOS = n.metadata.imageOS
            spec.imageKernel = n.metadata.imageKernel
            spec.buildTool = n.metadata.buildTool
            spec.buildToolVersion = n.metadata.buildToolVersion
            return try TargetAssembly.nitro(spec, context: context)
        case .tdx(let t):
            var spec = ConfidentialVMTargetSpec(name: target.name, firmware: try references.file(t.firmware))
            spec.kernel = try references.file(t.kernel)
            spec.cmdline = t.cmdline
            spec.initPath = try references.file(t.initProgram)
            var inputs = TDXMeasureInputs(firmware: spec.firmware)
            inputs.memorySize = t.memory
            inputs.qemuVersion = try QEMUVersion(t.qemuVersion)
            inputs.pageAddOrder = t.pageAddOrder.flatMap { TDXPageAddOrder(rawValue: $0.rawValue) }
            inputs.cmdlineInitrd = CmdlineInitrdPlacement(rawValue: t.cmdlineInitrd.rawValue) ?? .suffix
            inputs.acpiLoader = try t.acpiLoader.map { try references.file($0) }
            inputs.acpiRSDP = try t.acpiRSDP.map { try references.file($0) }
            inputs.acpiTables = try t.acpiTables.map { try references.file($0) }
            return try TargetAssembly.tdx(spec, inputs: inputs, vcpus: t.vcpus, context: context)
        case .sevSNP(let s):
            var spec = ConfidentialVMTargetSpec(name: target.name, firmware: try references.file(s.firmware))
            spec.kernel = try s.kernel.map { try references.file($0) }
            spec.cmdline = s.cmdline
            spec.initPath = try s.initProgram.map { try references.file($0) }
            var request = SNPMeasureRequest(firmware: .path(spec.firmware), mode: .snp)
            request.vcpus = s.vcpus
            request.vcpuSignature = try SNPVCPU.requireSignature(named: s.vcpuType)
            guard let vmm = SNPVMMType(name: s.vmm) else {
                throw BuildRefusal(
                    .unsupported, "target '\(target.name)': unknown vmm '\(s.vmm)'", remedy: "use QEMU, ec2 or gce")
            }
            request.vmm = vmm
            request.guestFeatures = s.guestFeatures
            return try TargetAssembly.sevSNP(spec, request: request, vcpuType: s.vcpuType, context: context)
        case .sgx(let s):
            var fields = SigstructFields()
            fields.isvProdID = s.isvProdID
            fields.isvSVN = s.isvSVN
            fields.attributesFlags = s.attributes
            fields.attributesXfrm = s.xfrm
            fields.miscSelect = s.miscSelect
            return try TargetAssembly.sgx(
                name: target.name, enclave: try references.file(s.enclave),
                signingKey: try references.file(s.signingKey), heapSize: s.heapSize, fields: fields,
                context: context)
        }
    }
}
