import DebianEnvironment
import Testing

@Suite("apt output")
struct AptOutputTests {
    @Test func printURIs() throws {
        let text =
            "'http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9%2bdeb12u14_amd64.deb' "
            + "libc6_2.36-9+deb12u14_amd64.deb 2759320 MD5Sum:8d98f0c882f269aaee8437bcfe89346e\n"
        let uris = try AptOutput.printURIs(text)
        #expect(uris.count == 1)
        #expect(uris[0].uri == "http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb")
        #expect(uris[0].package == "libc6")
        #expect(uris[0].size == 2_759_320)
    }
}
