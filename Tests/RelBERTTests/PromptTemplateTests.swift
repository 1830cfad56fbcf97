import Foundation
import RelBERT
import XCTest

final class PromptTemplateTests: XCTestCase {
    func testBuiltInTemplatesAreThePapersVerbatim() throws {
        let data = try Data(contentsOf: TestPaths.data.appendingPathComponent("templates.json"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let templates = json["templates"] as! [String: String]
        XCTAssertEqual(templates.count, 5)
        for (name, text) in templates {
            XCTAssertEqual(try PromptTemplate(name).text, text, "template \(name)")
        }
        XCTAssertTrue(try PromptTemplate("e").text.contains("<obj>  is <subj>\u{2019}s"))
    }

    func testFillReplacesEveryPlaceholder() throws {
        let template = try PromptTemplate("a")
        XCTAssertEqual(template.fill(WordPair("paris", "france"), maskToken: "[MASK]"),
                       "Today, I finally discovered the relation between paris and france : paris is the [MASK] of france")
    }

    func testCustomTemplates() throws {
        let custom = try PromptTemplate("<subj> and <obj> are <mask>")
        XCTAssertNil(custom.name)
        XCTAssertEqual(custom.fill(WordPair("a", "b"), maskToken: "<mask>"), "a and b are <mask>")
        XCTAssertThrowsError(try PromptTemplate("<subj> only <mask>")) { error in
            XCTAssertEqual(error as? PromptTemplateError, .missingPlaceholder(template: "<subj> only <mask>"))
        }
        XCTAssertThrowsError(try PromptTemplate("z")) { error in
            XCTAssertEqual(error as? PromptTemplateError, .unknownName("z"))
        }
    }

    func testPairReaderNamesBadLines() {
        XCTAssertEqual(try PairReader.parse(Data("a\tb\n\nc\td\r\n".utf8), source: "x"), [WordPair("a", "b"), WordPair("c", "d")])
        XCTAssertThrowsError(try PairReader.parse(Data("a\tb\nno tab here\n".utf8), source: "in.tsv")) {
            XCTAssertEqual($0 as? PairInputError, .missingTab(source: "in.tsv", line: 2))
        }
        XCTAssertThrowsError(try PairReader.parse(Data("a\t \n".utf8), source: "in.tsv")) {
            XCTAssertEqual($0 as? PairInputError, .emptyWord(source: "in.tsv", line: 1))
        }
        XCTAssertThrowsError(try PairReader.parse(Data([0x61, 0x09, 0x62, 0x0a, 0x63, 0x09, 0xff, 0x0a]), source: "in.tsv")) {
            XCTAssertEqual($0 as? PairInputError, .invalidUTF8(source: "in.tsv", line: 2))
        }
    }
}
