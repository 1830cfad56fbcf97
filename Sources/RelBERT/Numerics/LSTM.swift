import Foundation

/// One direction of one LSTM layer over one sequence, in PyTorch's layout and gate order (i, f, g, o):
///
///     a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        (4·Hh)
///     i, f, o = σ(a_i), σ(a_f), σ(a_o);  g = tanh(a_g)
///     c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)     (h_0 = c_0 = 0)
///
/// A reverse direction reads the sequence from its end (`reversed`), writing h_t at position t as
/// PyTorch's bidirectional LSTM does. Weights: `W_ih [4Hh, In]`, `W_hh [4Hh, Hh]`, biases `[4Hh]`.
public enum LSTM {
    /// What the forward pass keeps for the backward pass of one direction (all `[T, ·]`, in position order).
    public final class Cache {
        public private(set) var steps = 0
        let gates: FloatBuffer        // [T, 4Hh] after the nonlinearities: i, f, g, o
        let cells: FloatBuffer        // [T, Hh] c_t
        let cellTanh: FloatBuffer     // [T, Hh] tanh(c_t)
        let previous: FloatBuffer     // [T, Hh] h_{t-1} as seen at position t (zero for the first step read)
        let preActivation: FloatBuffer  // [T, 4Hh] dLoss/da during backward

        public init(steps: Int, hidden: Int) {
            self.steps = steps
            gates = FloatBuffer(count: steps * 4 * hidden)
            cells = FloatBuffer(count: steps * hidden)
            cellTanh = FloatBuffer(count: steps * hidden)
            previous = FloatBuffer(count: steps * hidden)
            preActivation = FloatBuffer(count: steps * 4 * hidden)
        }
    }

    @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// `out[t, 0..<Hh]` (row stride `outStride`) = h_t for every position t of `inp [T, In]`.
    public static func forward(out: UnsafeMutablePointer<Float>, outStride: Int,
                               inp: UnsafePointer<Float>, steps: Int, inFeatures: Int, hidden: Int,
                               weightIH: UnsafePointer<Float>, weightHH: UnsafePointer<Float>,
                               biasIH: UnsafePointer<Float>, biasHH: UnsafePointer<Float>,
                               reversed: Bool, cache: Cache) {
        precondition(cache.steps == steps, "cache made for \(cache.steps) steps, sequence has \(steps)")
        let g4 = 4 * hidden
        let a = cache.gates.pointer
        // The input part of every step at once: a = x · W_ihᵀ + b_ih (+ b_hh below).
        Linear.forward(out: a, inp: inp, weight: weightIH, bias: biasIH, rows: steps, inFeatures: inFeatures, outFeatures: g4)
        for t in 0 ..< steps { Vector.axpy(1, biasHH, into: a + t * g4, count: g4) }
        let zero = [Float](repeating: 0, count: hidden)
        zero.withUnsafeBufferPointer { zeroRow in
            var previousRow: UnsafePointer<Float> = zeroRow.baseAddress!
            var previousCell: UnsafePointer<Float> = zeroRow.baseAddress!
            for s in 0 ..< steps {
                let t = reversed ? steps - 1 - s : s
                let row = a + t * g4
                cache.previous.pointer.advanced(by: t * hidden).update(from: previousRow, count: hidden)
                // + W_hh · h_{t-1}
                BLAS.gemm(transposeB: true, m: 1, n: g4, k: hidden, a: previousRow, lda: hidden,
                          b: weightHH, ldb: hidden, beta: 1, c: row, ldc: g4)
                let c = cache.cells.pointer + t * hidden
                let ct = cache.cellTanh.pointer + t * hidden
                let h = out + t * outStride
                for j in 0 ..< hidden {
                    let i = sigmoid(row[j]), f = sigmoid(row[hidden + j])
                    let g = tanh(row[2 * hidden + j]), o = sigmoid(row[3 * hidden + j])
                    row[j] = i; row[hidden + j] = f; row[2 * hidden + j] = g; row[3 * hidden + j] = o
                    c[j] = f * previousCell[j] + i * g
                    ct[j] = tanh(c[j])
                    h[j] = o * ct[j]
                }
                previousRow = UnsafePointer(h)
                previousCell = UnsafePointer(c)
            }
        }
    }

    /// Backward of ``forward``: `dOut[t, 0..<Hh]` (stride `dOutStride`) is dLoss/dh_t. Adds into the
    /// weight and bias gradients and writes (or, with `accumulateInput`, adds) dLoss/dx into `dInp [T, In]`.
    public static func backward(dInp: UnsafeMutablePointer<Float>?, accumulateInput: Bool,
                                dOut: UnsafePointer<Float>, dOutStride: Int,
                                inp: UnsafePointer<Float>, steps: Int, inFeatures: Int, hidden: Int,
                                weightIH: UnsafePointer<Float>, weightHH: UnsafePointer<Float>,
                                dWeightIH: UnsafeMutablePointer<Float>, dWeightHH: UnsafeMutablePointer<Float>,
                                dBiasIH: UnsafeMutablePointer<Float>, dBiasHH: UnsafeMutablePointer<Float>,
                                reversed: Bool, cache: Cache) {
        let g4 = 4 * hidden
        let da = cache.preActivation.pointer
        var dh = [Float](repeating: 0, count: hidden)      // dLoss/dh_t from later steps
        var dc = [Float](repeating: 0, count: hidden)      // dLoss/dc_t from later steps
        dh.withUnsafeMutableBufferPointer { dhNext in
            dc.withUnsafeMutableBufferPointer { dcNext in
                let dhp = dhNext.baseAddress!, dcp = dcNext.baseAddress!
                for s in stride(from: steps - 1, through: 0, by: -1) {
                    let t = reversed ? steps - 1 - s : s
                    let gate = cache.gates.pointer + t * g4
                    let ct = cache.cellTanh.pointer + t * hidden
                    let d = da + t * g4
                    let up = dOut + t * dOutStride
                    // c_{t-1}: the cell of the step read before this one (zero for the first).
                    let previousCell: UnsafePointer<Float>? = s == 0 ? nil
                        : UnsafePointer(cache.cells.pointer + (reversed ? t + 1 : t - 1) * hidden)
                    for j in 0 ..< hidden {
                        let i = gate[j], f = gate[hidden + j], g = gate[2 * hidden + j], o = gate[3 * hidden + j]
                        let dhj = up[j] + dhp[j]
                        let dcj = dhj * o * (1 - ct[j] * ct[j]) + dcp[j]
                        let cPrev = previousCell?[j] ?? 0
                        d[j] = dcj * g * i * (1 - i)
                        d[hidden + j] = dcj * cPrev * f * (1 - f)
                        d[2 * hidden + j] = dcj * i * (1 - g * g)
                        d[3 * hidden + j] = dhj * ct[j] * o * (1 - o)
                        dcp[j] = dcj * f
                    }
                    // dh_{t-1} = daᵀ · W_hh
                    BLAS.gemm(m: 1, n: hidden, k: g4, a: d, lda: g4, b: weightHH, ldb: hidden, beta: 0, c: dhp, ldc: hidden)
                }
            }
        }
        // The weight gradients, every step at once.
        Linear.backward(dInp: nil, dWeight: dWeightHH, dBias: dBiasHH, dOut: da, inp: cache.previous.pointer,
                        weight: weightHH, rows: steps, inFeatures: hidden, outFeatures: g4, accumulateInput: false)
        Linear.backward(dInp: dInp, dWeight: dWeightIH, dBias: dBiasIH, dOut: da, inp: inp,
                        weight: weightIH, rows: steps, inFeatures: inFeatures, outFeatures: g4, accumulateInput: accumulateInput)
    }
}
