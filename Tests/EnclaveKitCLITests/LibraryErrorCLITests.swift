import TestSupport
import Testing

/// Library errors reach the user as one line with the flag hint the command line adds (`LibraryErrors`):
/// the libraries' errors name no flags, so these lines prove the mapping.
@Suite struct LibraryErrorCLITests {
    @Test(arguments: [
        (
            ["policy", "init", "--key", "alice", "--threshold", "1", "--out", "p.json"], Int32(64),
            "--key 'alice': expected NAME=PUBLIC-KEY-FILE (e.g. --key alice=keys/alice.pub.pem)"
        ),
        (
            ["verify", "r.dsse.json", "--policy", "p.json", "--expect", "PCR0"], 64,
            "expected [TARGET.]REGISTER=HEX, got 'PCR0' (e.g. --expect nitro.PCR0=6595…)"
        ),
        (
            ["tdx", "measure", "--firmware", TDXCLITests.ovmf, "--qemu-version", "7.2"], 1,
            "QEMU 7.2 has no TDX support (TDX needs QEMU 8.x TDX trees or QEMU ≥ 9)"
        ),
        (
            ["tdx", "measure", "--firmware", TDXCLITests.ovmf, "--qemu-version", "9"], 1,
            "invalid QEMU version \"9\" (write it as MAJOR.MINOR, e.g. 9.1 or 10.2)"
        ),
    ])
    func lineWithHint(args: [String], status: Int32, line: String) throws {
        let dir = try TestDirectory()
        let r = try CLIRunner.run(args, in: dir.path)
        #expect(r.status == status, "\(args): \(r.stderr)")
        #expect(r.stderr.contains(line), "\(args): \(r.stderr)")
    }
}
