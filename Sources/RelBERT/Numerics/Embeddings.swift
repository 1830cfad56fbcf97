/// The input embeddings: word + position + token type (type 0 for every token: RelBERT prompts are
/// single sequences). Layer normalisation follows, done by the caller.
///
/// Continuous prompts: a token id at or above `vocabulary` stands for row `id - vocabulary` of
/// `promptVectors` instead of a row of the word table (P-tuning's trigger positions); its gradient goes
/// to `dPromptVectors`.
public enum Embeddings {
    public static func forward(out: UnsafeMutablePointer<Float>,
                               tokenIDs: UnsafePointer<Int32>,
                               starts: UnsafeBufferPointer<Int>,
                               wordTable: UnsafePointer<Float>,
                               positionTable: UnsafePointer<Float>,
                               typeRow: UnsafePointer<Float>,
                               firstPosition: Int, hidden: Int,
                               vocabulary: Int = .max, promptVectors: UnsafePointer<Float>? = nil) {
        for s in 0 ..< starts.count - 1 {
            for t in starts[s] ..< starts[s + 1] {
                let position = firstPosition + (t - starts[s])
                let id = Int(tokenIDs[t])
                precondition(id < vocabulary || promptVectors != nil, "token id \(id) is outside the vocabulary and no prompt vectors were given")
                let w = id < vocabulary ? wordTable + id * hidden : promptVectors! + (id - vocabulary) * hidden
                let p = positionTable + position * hidden
                let o = out + t * hidden
                for i in 0 ..< hidden { o[i] = w[i] + p[i] + typeRow[i] }
            }
        }
    }

    /// Backward: scatter-adds `dOut` into the rows of the word, position and type tables that the batch used.
    public static func backward(dWordTable: UnsafeMutablePointer<Float>, dPositionTable: UnsafeMutablePointer<Float>,
                                dTypeRow: UnsafeMutablePointer<Float>,
                                dOut: UnsafePointer<Float>, tokenIDs: UnsafePointer<Int32>,
                                starts: UnsafeBufferPointer<Int>, firstPosition: Int, hidden: Int,
                               vocabulary: Int = .max, dPromptVectors: UnsafeMutablePointer<Float>? = nil) {
        for s in 0 ..< starts.count - 1 {
            for t in starts[s] ..< starts[s + 1] {
                let g = dOut + t * hidden
                let id = Int(tokenIDs[t])
                if id < vocabulary {
                    Vector.axpy(1, g, into: dWordTable + id * hidden, count: hidden)
                } else if let dPromptVectors {
                    Vector.axpy(1, g, into: dPromptVectors + (id - vocabulary) * hidden, count: hidden)
                }
                Vector.axpy(1, g, into: dPositionTable + (firstPosition + t - starts[s]) * hidden, count: hidden)
                Vector.axpy(1, g, into: dTypeRow, count: hidden)
            }
        }
    }
}
