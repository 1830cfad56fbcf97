import RelBERT

/// The benchmark's pairs: 64 everyday word pairs, fixed, so that every run (and the PyTorch script,
/// via `relbert bench embed --list-pairs`) sees the same prompts.
enum SyntheticPairs {
    static let table: [(String, String)] = [
        ("paris", "france"), ("puppy", "dog"), ("hammer", "tool"), ("hot", "cold"),
        ("wheel", "bicycle"), ("einstein", "physicist"), ("cafe", "coffee"), ("writer", "pen"),
        ("seed", "tree"), ("tokyo", "japan"), ("kitten", "cat"), ("saw", "carpenter"),
        ("up", "down"), ("page", "book"), ("mozart", "composer"), ("bakery", "bread"),
        ("painter", "brush"), ("egg", "bird"), ("rome", "italy"), ("calf", "cow"),
        ("knife", "cutlery"), ("happy", "sad"), ("engine", "car"), ("picasso", "painter"),
        ("library", "books"), ("surgeon", "scalpel"), ("acorn", "oak"), ("madrid", "spain"),
        ("foal", "horse"), ("violin", "instrument"), ("early", "late"), ("finger", "hand"),
        ("shakespeare", "playwright"), ("orchard", "fruit"), ("farmer", "tractor"), ("caterpillar", "butterfly"),
        ("berlin", "germany"), ("cub", "bear"), ("rose", "flower"), ("light", "dark"),
        ("leaf", "branch"), ("darwin", "naturalist"), ("vineyard", "grapes"), ("chef", "knife"),
        ("tadpole", "frog"), ("cairo", "egypt"), ("duckling", "duck"), ("oxygen", "element"),
        ("buy", "sell"), ("key", "keyboard"), ("newton", "mathematician"), ("hive", "honey"),
        ("pilot", "airplane"), ("bud", "blossom"), ("ottawa", "canada"), ("lamb", "sheep"),
        ("spoon", "utensil"), ("wet", "dry"), ("petal", "flower"), ("curie", "chemist"),
        ("dairy", "milk"), ("teacher", "chalk"), ("grape", "wine"), ("lima", "peru"),
    ]

    static func make() -> [WordPair] { table.map { WordPair($0.0, $0.1) } }
}
