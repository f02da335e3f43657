import EnclaveCore
import SwiftASN1
import Synchronization
import X509

/// Work that the quotes of one run share, done once: CA certificates (parsed, and each issuer's signature
/// on them checked, once per exact DER pair), CRL signatures, and the collateral file (parsed, its signing
/// chains and signatures checked once per file, verification time and pinned root). A fleet's quotes share
/// their CAs and, per FMSPC, their collateral; what is per quote (the PCK leaf, the QE report and quote
/// signatures, TCB matching) is never cached. Bounded: a full cache is emptied, never grows past the limit.
final class DCAPCache: Sendable {
    static let shared = DCAPCache()
    static let limit = 256

    private struct State {
        var certificates: [[UInt8]: Certificate] = [:]
        var signatures: Set<[UInt8]> = []
        var collateral: [[UInt8]: PreparedCollateral] = [:]
    }

    private let state = Mutex(State())

    /// The parsed certificate for `der`, from the cache when `shared`.
    func certificate(der: [UInt8], shared: Bool) throws -> Certificate {
        if shared, let cert = state.withLock({ $0.certificates[der] }) { return cert }
        let cert = try Certificate(derEncoded: der)
        if shared {
            state.withLock { state in
                if state.certificates.count >= Self.limit { state.certificates.removeAll() }
                state.certificates[der] = cert
            }
        }
        return cert
    }

    /// `verify()` once per (issuer, signed object) pair; only successes are remembered.
    func signature(issuer: [UInt8], signed: [UInt8], shared: Bool, _ verify: () -> Bool) -> Bool {
        guard shared else { return verify() }
        let key = Digest.sha256(issuer) + Digest.sha256(signed)
        if state.withLock({ $0.signatures.contains(key) }) { return true }
        guard verify() else { return false }
        state.withLock { state in
            if state.signatures.count >= Self.limit { state.signatures.removeAll() }
            state.signatures.insert(key)
        }
        return true
    }

    func collateral(
        _ bytes: [UInt8], time: Int64, pinned: [UInt8], _ prepare: () -> PreparedCollateral
    ) -> PreparedCollateral {
        var key = Digest.sha256(bytes) + pinned
        withUnsafeBytes(of: time.littleEndian) { key += $0 }
        if let hit = state.withLock({ $0.collateral[key] }) { return hit }
        let prepared = prepare()
        state.withLock { state in
            if state.collateral.count >= 16 { state.collateral.removeAll() }
            state.collateral[key] = prepared
        }
        return prepared
    }
}

/// A collateral file checked as far as it can be without a quote: parsed, the TCB info and QE identity
/// signed over their exact bytes by signers chained to the pinned root (valid at the time, not revoked by
/// the root CA CRL). The per-quote checks (CRL issuer against the quote's PCK CA, FMSPC, ids, windows) follow.
struct PreparedCollateral: Sendable {
    var collateral: DCAPCollateral?
    var rootCRL: Result<DCAPPKI.CRL, DCAPPKI.PKIError>?
    var pckCRL: Result<DCAPPKI.CRL, DCAPPKI.PKIError>?
    var tcbInfo: TCBInfo?
    var qeIdentity: QEIdentity?
    /// Why the collateral check fails whatever the quote, when it does.
    var problem: String?

    static func prepare(_ bytes: [UInt8], time: Int64, pinned: [UInt8]) -> PreparedCollateral {
        var out = PreparedCollateral()
        let c: DCAPCollateral
        do {
            c = try DCAPCollateral.parse(bytes)
        } catch {
            out.problem = error.in(file: "collateral").description
            return out
        }
        out.collateral = c
        out.rootCRL = Result { () throws(DCAPPKI.PKIError) in try DCAPPKI.CRL(der: c.rootCACRL, what: "root CA CRL") }
        out.pckCRL = Result { () throws(DCAPPKI.PKIError) in try DCAPPKI.CRL(der: c.pckCRL, what: "PCK CRL") }
        do {
            let rootCRL = try? out.rootCRL?.get()
            try signed(
                chainPEM: c.tcbInfoIssuerChain, body: c.tcbInfo, signature: c.tcbInfoSignature, what: "TCB info",
                rootCRL: rootCRL, time: time, pinned: pinned)
            try signed(
                chainPEM: c.qeIdentityIssuerChain, body: c.qeIdentity, signature: c.qeIdentitySignature,
                what: "QE identity", rootCRL: rootCRL, time: time, pinned: pinned)
        } catch {
            out.problem = error.description
            return out
        }
        do {
            out.tcbInfo = try TCBInfo.parse(c.tcbInfo)
            out.qeIdentity = try QEIdentity.parse(c.qeIdentity)
        } catch {
            out.problem = error.in(file: "collateral").description
        }
        return out
    }

    /// Verifies a signing chain from the collateral (signer ← pinned root) and the signature over `body`.
    static func signed(
        chainPEM: [UInt8], body: [UInt8], signature: [UInt8], what: String, rootCRL: DCAPPKI.CRL?, time: Int64,
        pinned: [UInt8]
    ) throws(DCAPPKI.PKIError) {
        let chain = try DCAPPKI.certificates(pem: chainPEM, what: "\(what) issuer chain", shareFrom: 0)
        try DCAPPKI.checkRoot(chain, pinned: pinned, what: "\(what) issuer chain")
        try DCAPPKI.verifyChain(chain, at: time, what: "\(what) issuer chain", shareFrom: 0)
        if let rootCRL {
            for cert in chain where rootCRL.isRevoked(cert.certificate) {
                throw DCAPPKI.PKIError("\(what): the signer \(cert.name) is revoked by the root CA CRL")
            }
        }
        guard
            chain[0].certificate.publicKey.isValidSignature(
                DCAPRun.derSignature(raw: signature), for: body, signatureAlgorithm: .ecdsaWithSHA256)
        else {
            throw DCAPPKI.PKIError(
                "\(what): the signature by \(chain[0].name) does not cover these bytes (was the JSON re-serialized? keep the text exactly as served)"
            )
        }
    }
}
