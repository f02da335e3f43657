import Crypto
import EnclaveCore
import X509

// The policy applied to the report body: attributes, service TDs and expected measurements.
extension DCAPRun {
    /// TD 1.5: a non-zero MRSERVICETD binds a service TD (for example a migration TD) to this TD; refused
    /// unless the policy allows it, as dcap-qvl does by default. TD 1.0 reports have no such field.
    mutating func serviceTD(_ quote: DCAPQuote) {
        guard case .td(let td) = quote.body, let service = td.mrServiceTD else { return }
        if !service.contains(where: { $0 != 0 }) {
            add("service-td", true, "MRSERVICETD is zero: no service TD is bound")
        } else if policy.allowServiceTD {
            add("service-td", true, "MRSERVICETD \(service.hex): a service TD is bound (allowed)")
        } else {
            add(
                "service-td", false,
                "MRSERVICETD \(service.hex) is not zero: a service TD is bound to this TD; pass --allow-service-td"
                    + " (and --expect MRSERVICETD=...) if the deployment uses one")
        }
    }

    mutating func debug(_ quote: DCAPQuote) {
        switch quote.body {
        case .td(let td):
            let a = td.tdAttributes
            let tud = a[0]
            // SEC bits 27:8 and 29, OTHER bits 62:32 are reserved; SEPT_VE_DISABLE (bit 28) keeps the host
            // from turning EPT violations into #VE inside the TD (Intel QVL and dcap-qvl require it).
            let reservedSEC = a[1] != 0 || a[2] != 0 || a[3] & 0x2f != 0
            let reservedOther = a[4] != 0 || a[5] != 0 || a[6] != 0 || a[7] & 0x7f != 0
            if tud & 0xfe != 0 {
                add("debug", false, "TD_ATTRIBUTES \(a.hex): reserved TUD bits 7:1 are set (untrusted TD)")
            } else if reservedSEC || reservedOther {
                add("debug", false, "TD_ATTRIBUTES \(a.hex): reserved bits are set")
            } else if a[3] & 0x10 == 0 {
                add(
                    "debug", false,
                    "TD_ATTRIBUTES \(a.hex): SEPT_VE_DISABLE (bit 28) is clear: the host can inject #VE into the TD")
            } else if td.isDebug && !policy.allowDebug {
                add(
                    "debug", false,
                    "TD_ATTRIBUTES \(td.tdAttributes.hex): DEBUG (bit 0) is set; the host can read the TD")
            } else {
                add(
                    "debug", true,
                    "TD_ATTRIBUTES \(td.tdAttributes.hex): \(td.isDebug ? "debug (allowed)" : "not debug")")
            }
        case .sgx(let r):
            if r.isDebug && !policy.allowDebug {
                add("debug", false, "ATTRIBUTES \(r.attributes.hex): DEBUG is set; the host can read the enclave")
            } else {
                add("debug", true, "ATTRIBUTES \(r.attributes.hex): \(r.isDebug ? "debug (allowed)" : "not debug")")
            }
        }
    }

    mutating func freshness(_ quote: DCAPQuote) {
        guard let expected = policy.expectedReportData else { return }
        let actual = quote.reportData
        guard expected.count <= actual.count else {
            add("freshness", false, "expected report data is \(expected.count) bytes, the field holds \(actual.count)")
            return
        }
        let padded = expected + Array(repeating: 0, count: actual.count - expected.count)
        if padded == actual {
            add("freshness", true, "report data equals the expected value")
        } else {
            add("freshness", false, "report data \(actual.hex), expected \(padded.hex)")
        }
    }

    mutating func measurements() {
        guard !policy.expectedMeasurements.isEmpty else {
            add(
                "measurements", true,
                result.measurements.map(\.name).joined(separator: ", ") + " reported, none expected")
            return
        }
        var problems: [String] = []
        for expected in policy.expectedMeasurements {
            guard let actual = result.measurement(expected.name) else {
                let names = result.measurements.map(\.name).joined(separator: ", ")
                problems.append("\(expected.name) is not a \(tee.rawValue) register (\(names))")
                continue
            }
            if actual != expected.value {
                problems.append("\(expected.name) is \(actual.hex), expected \(expected.value.hex)")
            }
        }
        if problems.isEmpty {
            add(
                "measurements", true,
                policy.expectedMeasurements.map(\.name).joined(separator: ", ") + " equal the expected values")
        } else {
            add("measurements", false, problems.joined(separator: "; "))
        }
    }
}
