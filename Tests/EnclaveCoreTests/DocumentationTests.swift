import Foundation
import Testing

/// The format notes live in each module's DocC catalog (`Sources/NAME/NAME.docc/`). These tests keep the
/// links to them from rotting: every `<doc:Article>` in a module's sources or catalog names an article of
/// that module's catalog, every catalog has its root page, and nothing cites notes outside the repository.
@Suite struct DocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let sources = root.appendingPathComponent("Sources")

    /// Module folders under Sources that have a catalog.
    static func catalogModules() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { module in
            FileManager.default.fileExists(atPath: catalog(module).path)
        }.sorted()
    }

    static func catalog(_ module: String) -> URL {
        sources.appendingPathComponent(module).appendingPathComponent("\(module).docc")
    }

    /// Every file under `directory` whose name ends in one of `suffixes`, as paths relative to the root.
    static func files(under directory: URL, suffixes: [String]) -> [URL] {
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else {
            return []
        }
        return walker.compactMap { $0 as? URL }.filter { url in suffixes.contains { url.path.hasSuffix($0) } }
    }

    /// The article names of every `<doc:Name>` link in `text`.
    static func docLinks(in text: String) -> [String] {
        var names: [String] = []
        var rest = text[...]
        while let start = rest.range(of: "<doc:") {
            let after = rest[start.upperBound...]
            guard let end = after.firstIndex(of: ">") else { break }
            names.append(String(after[..<end]))
            rest = after[end...]
        }
        return names
    }

    @Test func everyDocLinkNamesAnArticleOfItsModulesCatalog() throws {
        let modules = try Self.catalogModules()
        #expect(modules.count >= 10, "catalogs found: \(modules)")
        var checked = 0
        for module in try FileManager.default.contentsOfDirectory(atPath: Self.sources.path) {
            let folder = Self.sources.appendingPathComponent(module)
            for file in Self.files(under: folder, suffixes: [".swift", ".md"]) {
                let text = try String(contentsOf: file, encoding: .utf8)
                for name in Self.docLinks(in: text) {
                    let article = Self.catalog(module).appendingPathComponent("\(name).md")
                    #expect(
                        FileManager.default.fileExists(atPath: article.path),
                        "\(file.path): <doc:\(name)> but \(module).docc has no \(name).md")
                    checked += 1
                }
            }
        }
        #expect(checked >= 40, "only \(checked) <doc:> links found")
    }

    @Test func everyCatalogHasItsRootPageWithTopics() throws {
        for module in try Self.catalogModules() {
            let page = Self.catalog(module).appendingPathComponent("\(module).md")
            let text = try String(contentsOf: page, encoding: .utf8)
            #expect(text.hasPrefix("# ``\(module)``\n"), "\(page.path) must start with # ``\(module)``")
            #expect(text.contains("\n## Topics\n"), "\(page.path) has no Topics section")
        }
    }

    @Test func nothingCitesNotesOutsideTheRepository() throws {
        let banned = [
            "shared/docs", "shared/vectors", "nitro-eif.md", "sgx.md §", "tdx-and-sev-snp.md",
            "signing-and-reproducibility", "attestation-formats.md", "architecture.md",
        ]
        var scanned = 0
        for folder in ["Sources", "Tests"] {
            for file in Self.files(
                under: Self.root.appendingPathComponent(folder), suffixes: [".swift", ".md", ".py"])
            where file.lastPathComponent != "DocumentationTests.swift" {
                let text = try String(contentsOf: file, encoding: .utf8)
                for word in banned {
                    #expect(!text.contains(word), "\(file.path) cites \(word)")
                }
                scanned += 1
            }
        }
        #expect(scanned > 100)
    }
}
