import Foundation
import TestSupport
import Testing

/// `keygen --type sgx-rsa3072`: an enclave-signing key that `sgx sign` accepts, with the MRSIGNER it prints.
@Suite struct KeygenSGXCLITests {
    @Test func sgxKeySignsAndGivesThePrintedMRSIGNER() throws {
        let dir = try TestDirectory()
        let key = dir.path + "/enclave.pem"
        let made = try CLIRunner.run(["keygen", "--type", "sgx-rsa3072", "--out", key, "--json"])
        #expect(made.status == 0, "\(made.stderr)")
        let mrsigner = try #require(
            made.stdout.split(separator: "\"").drop { $0 != "mrsigner" }.dropFirst(2).first.map(String.init))
        #expect(mrsigner.count == 64)
        let attrs = try FileManager.default.attributesOfItem(atPath: key)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        let sig = dir.path + "/enclave.sig"
        let signed = try CLIRunner.run([
            "sgx", "sign", "--mrenclave", String(repeating: "ab", count: 32), "--key", key, "--out", sig,
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        let view = try CLIRunner.run(["sgx", "view", sig, "--json"])
        #expect(view.status == 0)
        #expect(view.stdout.contains(mrsigner))
        // A second keygen to the same path is refused without --force.
        let again = try CLIRunner.run(["keygen", "--type", "sgx-rsa3072", "--out", key])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
    }
}
