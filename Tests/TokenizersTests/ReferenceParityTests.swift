import XCTest
@testable import Tokenizers

/// Tricky inputs whose expected ids come from Hugging Face `tokenizers` 0.23.3 (the Rust library
/// transformers' fast tokenizers use), loaded from the same `tokenizer.json` files with truncation
/// and padding off: accents, curly quotes, CJK, control and private-use characters, over-long words,
/// special tokens glued to text, contractions, whitespace runs, emoji and combining marks.
final class ReferenceParityTests: XCTestCase {
    static let bertCases: [(String, [Int32])] = [
        ("H\u{E9}llo, WORLD! na\u{EF}ve caf\u{E9}", [101, 7592, 1010, 2088, 999, 15743, 7668, 102]),
        ("the[MASK]of [mask] [MASK][MASK]", [101, 1996, 103, 1997, 1031, 7308, 1033, 103, 103, 102]),
        ("I wasn\u{2019}t aware \u{2014} \u{201C}quotes\u{201D} \u{2018}single\u{2019} \u{2026} done", [101, 1045, 2347, 1521, 1056, 5204, 1517, 1523, 16614, 1524, 1520, 2309, 1521, 1529, 2589, 102]),
        ("\u{4F60}\u{597D}\u{4E16}\u{754C} and \u{65E5}\u{672C}\u{8A9E} text", [101, 100, 100, 1745, 100, 1998, 1864, 1876, 1950, 3793, 102]),
        ("tab\u{9}here\u{A}new\u{D}\u{A}line\u{A0}nbsp\u{3000}ideo", [101, 21628, 2182, 2047, 2240, 1050, 5910, 2361, 8909, 8780, 102]),
        ("ctrl\u{0}\u{7}\u{200B}\u{FFFD}\u{E000}chars\u{378}", [101, 100, 102]),
        (String(repeating: "a", count: 101), [101, 100, 102]),
        ("unaffable!! x-ray 3.14 $100 e-mail@example.com", [101, 14477, 20961, 3468, 999, 999, 1060, 1011, 4097, 1017, 1012, 2403, 1002, 2531, 1041, 1011, 5653, 1030, 2742, 1012, 4012, 102]),
        ("\u{130}stanbul \u{3A3}\u{391}\u{3A3} Stra\u{DF}e \u{FB01}", [101, 9960, 1173, 14608, 29733, 2358, 27807, 1984, 102]),
        ("[CLS]x[SEP] [PAD][UNK]", [101, 101, 1060, 102, 0, 100, 102]),
        ("\u{1F44D}\u{1F3FD} ok", [101, 100, 7929, 102]),
        ("Z\u{324}\u{354}\u{367}\u{311}\u{313}a\u{308}\u{356}\u{32D}l\u{36E}\u{312}g\u{30C}\u{317}o\u{319}\u{314}", [101, 23564, 2140, 3995, 102]),
        ("", [101, 102]),
        ("   ", [101, 102]),
        ("I'm don't 'S 'Re shouldn't've", [101, 1045, 1005, 1049, 2123, 1005, 1056, 1005, 1055, 1005, 2128, 5807, 1005, 1056, 1005, 2310, 102]),
        ("abc123  def\u{9}\u{9}ghi!!! ??", [101, 5925, 12521, 2509, 13366, 1043, 4048, 999, 999, 999, 1029, 1029, 102]),
        ("x  \u{A} y", [101, 1060, 1061, 102]),
        ("the <mask> of  <mask>x <mask>", [101, 1996, 1026, 7308, 1028, 1997, 1026, 7308, 1028, 1060, 1026, 7308, 1028, 102]),
        ("<s>hello</s><pad><unk>", [101, 1026, 1055, 1028, 7592, 1026, 1013, 1055, 1028, 1026, 11687, 1028, 1026, 4895, 2243, 1028, 102]),
        (" leading space", [101, 2877, 2686, 102]),
        ("trailing space ", [101, 12542, 2686, 102]),
        ("\u{216B} x\u{B2} \u{661}\u{662}\u{663} a_b", [101, 100, 1060, 10701, 100, 1037, 1035, 1038, 102]),
    ]

    static let robertaCases: [(String, [Int32])] = [
        ("H\u{E9}llo, WORLD! na\u{EF}ve caf\u{E9}", [0, 44, 132, 107, 80, 80, 83, 16, 225, 59, 51, 54, 48, 40, 5, 225, 82, 69, 132, 112, 293, 225, 71, 69, 74, 132, 107, 2]),
        ("the[MASK]of [mask] [MASK][MASK]", [0, 405, 63, 49, 37, 55, 47, 65, 83, 74, 225, 63, 81, 69, 87, 79, 65, 225, 63, 49, 37, 55, 47, 65, 63, 49, 37, 55, 47, 65, 2]),
        ("I wasn\u{2019}t aware \u{2014} \u{201C}quotes\u{201D} \u{2018}single\u{2019} \u{2026} done", [0, 45, 337, 335, 88, 327, 225, 310, 247, 225, 310, 255, 403, 362, 73, 87, 310, 256, 225, 310, 251, 87, 267, 75, 80, 73, 335, 225, 310, 104, 283, 83, 82, 73, 2]),
        ("\u{4F60}\u{597D}\u{4E16}\u{754C} and \u{65E5}\u{672C}\u{8A9E} text", [0, 165, 126, 259, 166, 103, 126, 165, 121, 249, 168, 248, 239, 326, 225, 167, 250, 103, 167, 255, 110, 169, 108, 257, 261, 73, 92, 88, 2]),
        ("tab\u{9}here\u{A}new\u{D}\u{A}line\u{A0}nbsp\u{3000}ideo", [0, 88, 69, 70, 202, 345, 263, 203, 82, 73, 91, 206, 203, 80, 267, 73, 131, 259, 82, 70, 87, 84, 164, 227, 227, 77, 72, 73, 83, 2]),
        ("ctrl\u{0}\u{7}\u{200B}\u{FFFD}\u{E000}chars\u{378}", [0, 71, 88, 86, 80, 193, 200, 310, 238, 176, 128, 126, 175, 227, 227, 71, 76, 353, 87, 142, 121, 2]),
        (String(repeating: "a", count: 101), [0, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 69, 2]),
        ("unaffable!! x-ray 3.14 $100 e-mail@example.com", [0, 89, 82, 69, 74, 74, 69, 70, 80, 73, 5, 5, 225, 92, 17, 86, 298, 225, 23, 18, 21, 24, 225, 8, 21, 20, 20, 225, 73, 17, 81, 69, 77, 80, 36, 73, 92, 352, 84, 80, 73, 18, 285, 81, 2]),
        ("\u{130}stanbul \u{3A3}\u{391}\u{3A3} Stra\u{DF}e \u{FB01}", [0, 133, 113, 287, 343, 70, 89, 80, 225, 143, 101, 143, 244, 143, 101, 225, 55, 88, 86, 69, 132, 258, 73, 225, 176, 110, 228, 2]),
        ("[CLS]x[SEP] [PAD][UNK]", [0, 63, 39, 48, 55, 65, 92, 63, 55, 41, 52, 65, 225, 63, 52, 37, 40, 65, 63, 57, 50, 47, 65, 2]),
        ("\u{1F44D}\u{1F3FD} ok", [0, 177, 258, 244, 240, 177, 258, 242, 126, 268, 79, 2]),
        ("Z\u{324}\u{354}\u{367}\u{311}\u{313}a\u{308}\u{356}\u{32D}l\u{36E}\u{312}g\u{30C}\u{317}o\u{319}\u{314}", [0, 62, 141, 102, 142, 247, 142, 105, 141, 244, 141, 246, 69, 141, 235, 142, 249, 141, 260, 80, 142, 111, 141, 245, 75, 141, 239, 141, 250, 83, 141, 252, 141, 247, 2]),
        ("", [0, 2]),
        ("   ", [0, 225, 225, 225, 2]),
        ("I'm don't 'S 'Re shouldn't've", [0, 45, 11, 81, 283, 83, 82, 11, 88, 225, 11, 55, 225, 11, 54, 73, 225, 87, 76, 83, 89, 359, 82, 11, 88, 11, 293, 2]),
        ("abc123  def\u{9}\u{9}ghi!!! ??", [0, 69, 70, 71, 21, 22, 23, 225, 283, 73, 74, 202, 202, 75, 301, 5, 5, 5, 225, 35, 35, 2]),
        ("x  \u{A} y", [0, 92, 225, 225, 203, 225, 93, 2]),
        ("the <mask> of  <mask>x <mask>", [0, 405, 4, 270, 4, 92, 4, 2]),
        ("<s>hello</s><pad><unk>", [0, 0, 76, 344, 80, 83, 2, 1, 3, 2]),
        (" leading space", [0, 350, 73, 296, 267, 75, 225, 87, 84, 69, 354, 2]),
        ("trailing space ", [0, 88, 86, 69, 77, 80, 267, 75, 225, 87, 84, 69, 354, 225, 2]),
        ("\u{216B} x\u{B2} \u{661}\u{662}\u{663} a_b", [0, 163, 232, 109, 225, 92, 131, 115, 225, 154, 99, 154, 100, 154, 101, 280, 67, 70, 2]),
    ]

    func testWordPieceMatchesReferenceOnTrickyInputs() throws {
        let tokenizer = try WordPieceTokenizer(directory: Fixtures.requireMiniLM())
        XCTAssertEqual(Self.bertCases.count, 22)
        for (text, expected) in Self.bertCases {
            XCTAssertEqual(tokenizer.encode(text, maxLength: 512).ids, expected, "text: \(text.debugDescription)")
        }
    }

    func testByteLevelBPEMatchesReferenceOnTrickyInputs() throws {
        let tokenizer = try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta)
        XCTAssertEqual(Self.robertaCases.count, 22)
        for (text, expected) in Self.robertaCases {
            XCTAssertEqual(tokenizer.encode(text, maxLength: 512).ids, expected, "text: \(text.debugDescription)")
        }
    }
}
