import EnclaveCore
import SGX
import Synchronization
import TestSupport
import Testing

/// A ``ProgressSink`` that keeps every advance and counts finishes.
final class RecordingProgress: ProgressSink {
    let label: String
    let total: UInt64
    private let state = Mutex<(advances: [UInt64], finishes: Int)>(([], 0))

    init(label: String, total: UInt64) {
        self.label = label
        self.total = total
    }

    func advance(by n: UInt64) { state.withLock { $0.advances.append(n) } }
    func finish() { state.withLock { $0.finishes += 1 } }
    var advances: [UInt64] { state.withLock { $0.advances } }
    var finishes: Int { state.withLock { $0.finishes } }
}

/// The reporters a ``ProgressFactory`` started, in order.
final class RecordingFactory: Sendable {
    private let started = Mutex<[RecordingProgress]>([])
    var reporters: [RecordingProgress] { started.withLock { $0 } }

    func start(label: String, total: UInt64) -> (any ProgressSink)? {
        let reporter = RecordingProgress(label: label, total: total)
        started.withLock { $0.append(reporter) }
        return reporter
    }
}

/// `sgx measure` reports its bytes through the progress callback: one reporter labelled with the input, whose
/// advances add up to the total it announced (the SGXS file's size; the measured pages of an ELF), finished
/// once; and the measurement is the one taken without progress.
@Suite struct SGXProgressTests {
    static let inputs: [(String, SGXMeasureInput, UInt64?)] = [
        ("v1.sgxs", .sgxs(path: Fixtures.path("v1.sgxs")), FileStatus(Fixtures.path("v1.sgxs"))?.size),
        ("v2.sgxs", .sgxs(path: Fixtures.path("v2.sgxs")), FileStatus(Fixtures.path("v2.sgxs"))?.size),
        ("selftest ELF", .elf(path: Fixtures.path("selftest_encl.elf"), heapSize: 0x10000, tail: .file), nil),
    ]

    @Test(arguments: inputs) func advancesSumToTheTotal(name: String, input: SGXMeasureInput, fileSize: UInt64?) throws
    {
        let factory = RecordingFactory()
        let m = try SGXMeasurer.measure(input, progress: factory.start)
        #expect(m.mrenclave == (try SGXMeasurer.measure(input)).mrenclave, "\(name)")
        let reporters = factory.reporters
        try #require(reporters.count == 1, "\(name)")
        let bar = reporters[0]
        #expect(bar.label.hasPrefix("measuring /"), "\(name)")
        if let fileSize { #expect(bar.total == fileSize, "\(name)") }
        #expect(bar.total > 0)
        #expect(!bar.advances.isEmpty && bar.advances.allSatisfy { $0 > 0 }, "\(name)")
        #expect(bar.advances.reduce(0, +) == bar.total, "\(name)")
        #expect(bar.finishes == 1, "\(name)")
    }
}
