/// A fast 64-bit fingerprint of a parameter buffer: FNV-1a over its bytes taken as little-endian
/// 64-bit words (a trailing odd float is padded with zeros). The coordinator and a worker compare
/// fingerprints to prove their replicas are bit-identical.
public enum ParameterChecksum {
    public static func of(_ pointer: UnsafePointer<Float>, count: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01b3
        let words = count / 2
        UnsafeRawPointer(pointer).withMemoryRebound(to: UInt64.self, capacity: words) { w in
            for i in 0 ..< words {
                hash = (hash ^ w[i]) &* prime
            }
        }
        if count % 2 == 1 {
            hash = (hash ^ UInt64(pointer[count - 1].bitPattern)) &* prime
        }
        return hash
    }

    /// FNV-1a over a text's UTF-8 bytes (cache keys).
    public static func ofText(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }
}
