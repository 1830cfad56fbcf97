/// GPT-2's reversible byte-to-character mapping: printable Latin-1 bytes map to themselves, the
/// other 68 bytes to U+0100 onwards in byte order (so a space is `Ġ`, U+0120).
enum ByteLevel {
    /// The character for each byte.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    /// The byte for a mapped character, or nil for characters outside the 256-character alphabet.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let v = scalar.value
        if v < 256 {
            let byte = UInt8(v)
            return byteToScalar[Int(byte)] == scalar ? byte : nil
        }
        guard v < 256 + 68 else { return nil }
        return byteToScalar.firstIndex(of: scalar).map { UInt8($0) }
    }

    /// The raw bytes a byte-level token string stands for, or nil if it uses other characters.
    static func bytes(of token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// The byte-level string for raw bytes (`" the"` -> `"Ġthe"`).
    static func string(of bytes: some Sequence<UInt8>) -> String {
        var view = String.UnicodeScalarView()
        for byte in bytes { view.append(byteToScalar[Int(byte)]) }
        return String(view)
    }

    /// Appends the UTF-8 encoding of `scalars` to `bytes`.
    @inline(__always)
    static func appendUTF8(_ scalars: ArraySlice<Unicode.Scalar>, to bytes: inout [UInt8]) {
        for scalar in scalars {
            let v = scalar.value
            if v < 0x80 {
                bytes.append(UInt8(v))
            } else {
                UTF8.encode(scalar) { bytes.append($0) }
            }
        }
    }
}
