import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Nitro

/// `describe`'s certificate times print as OpenSSL's `ASN1_TIME_print` does.
@Suite struct OpenSSLTimeTests {
    @Test(arguments: [
        (0, "Jan  1 00:00:00 1970 GMT"),
        (951_782_400, "Feb 29 00:00:00 2000 GMT"),
        (1_665_651_482, "Oct 13 08:58:02 2022 GMT"),
        (4_102_444_799, "Dec 31 23:59:59 2099 GMT"),
        (-631_152_000, "Jan  1 00:00:00 1950 GMT"),
    ])
    func knownTimes(seconds: Int, text: String) {
        #expect(EIFDescription.opensslTime(Date(timeIntervalSince1970: TimeInterval(seconds))) == text)
    }

    /// The vector certificate's validity as `openssl x509 -startdate -enddate` prints it, from the same
    /// instants as OpenSSL prints them in ISO 8601.
    @Test func vectorCertificateMatchesOpenSSL() throws {
        let base = ["x509", "-in", Fixtures.path("sign-cert-p384.pem"), "-noout", "-startdate", "-enddate"]
        let openssl = String(decoding: try runOpenSSL(base), as: UTF8.self)
        let iso = String(decoding: try runOpenSSL(base + ["-dateopt", "iso_8601"]), as: UTF8.self)
        var expected = ""
        for line in iso.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            let seconds = try #require(CivilTime.parseRFC3339(String(parts[1])))
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            expected += "\(parts[0])=\(EIFDescription.opensslTime(date))\n"
        }
        #expect(iso.split(separator: "\n").count == 2)
        #expect(openssl == expected)
    }
}
