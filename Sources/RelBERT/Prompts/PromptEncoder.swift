import Foundation

/// P-tuning's prompt encoder: `rows` trainable input vectors fed through a 2-layer bidirectional LSTM
/// (hidden H/2 per direction, so its output is H wide again) and an MLP (H→H, ReLU, H→H). Its output,
/// `[rows, H]`, is what the language model sees at the trigger positions of a continuous prompt.
///
/// Parameters and gradients are each one flat buffer, in the order of ``tensors`` (PyTorch's names:
/// `embedding.weight`, `lstm.weight_ih_l0`, ..., `lstm.bias_hh_l1_reverse`, `mlp.0.weight`, ...,
/// `mlp.2.bias`). One forward keeps what its backward needs in ``Cache``.
public final class PromptEncoder: @unchecked Sendable {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let offset: Int
        public let shape: [Int]
        public var count: Int { shape.reduce(1, *) }
        public var range: Range<Int> { offset ..< offset + count }
    }

    public let rows: Int
    public let width: Int
    public let layers = 2
    public var half: Int { width / 2 }
    public let tensors: [Tensor]
    public let parameters: FloatBuffer
    public let gradients: FloatBuffer

    /// Offsets of one LSTM direction's four tensors.
    struct Direction { let weightIH, weightHH, biasIH, biasHH: Int }
    let directions: [[Direction]]     // [layer][0 forward, 1 reverse]
    let embedding: Int, mlpWeight1: Int, mlpBias1: Int, mlpWeight2: Int, mlpBias2: Int

    public init(rows: Int, width: Int, seed: UInt64) {
        precondition(rows > 0 && width > 0 && width % 2 == 0, "a prompt encoder needs rows > 0 and an even width")
        self.rows = rows
        self.width = width
        let h = width / 2
        var list: [Tensor] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let tensor = Tensor(name: name, offset: offset, shape: shape)
            list.append(tensor)
            offset += tensor.count
            return tensor.offset
        }
        embedding = add("embedding.weight", [rows, width])
        var directions: [[Direction]] = []
        for layer in 0 ..< 2 {
            var pair: [Direction] = []
            for suffix in ["", "_reverse"] {
                pair.append(Direction(weightIH: add("lstm.weight_ih_l\(layer)\(suffix)", [4 * h, width]),
                                      weightHH: add("lstm.weight_hh_l\(layer)\(suffix)", [4 * h, h]),
                                      biasIH: add("lstm.bias_ih_l\(layer)\(suffix)", [4 * h]),
                                      biasHH: add("lstm.bias_hh_l\(layer)\(suffix)", [4 * h])))
            }
            directions.append(pair)
        }
        self.directions = directions
        mlpWeight1 = add("mlp.0.weight", [width, width])
        mlpBias1 = add("mlp.0.bias", [width])
        mlpWeight2 = add("mlp.2.weight", [width, width])
        mlpBias2 = add("mlp.2.bias", [width])
        tensors = list
        parameters = FloatBuffer(count: offset)
        gradients = FloatBuffer(count: offset)

        // PyTorch's defaults: embedding N(0, 1); LSTM U(±1/√Hh); Linear U(±1/√in) for weight and bias.
        var random = SplitMix64(seed: seed)
        let p = parameters.pointer
        for i in 0 ..< rows * width {
            let u1 = max(random.nextDouble(), 1e-300), u2 = random.nextDouble()
            p[embedding + i] = Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
        }
        func uniform(_ tensorOffset: Int, _ count: Int, bound: Float) {
            for i in 0 ..< count { p[tensorOffset + i] = (random.nextFloat() * 2 - 1) * bound }
        }
        for tensor in list where tensor.name.hasPrefix("lstm.") {
            uniform(tensor.offset, tensor.count, bound: 1 / Float(h).squareRoot())
        }
        for tensor in list where tensor.name.hasPrefix("mlp.") {
            uniform(tensor.offset, tensor.count, bound: 1 / Float(width).squareRoot())
        }
    }

    public var parameterCount: Int { parameters.count }

    /// Everything one forward pass keeps for its backward pass.
    public final class Cache {
        let layerOutputs: [FloatBuffer]        // [layer] → [rows, H]: the forward half then the reverse half
        let lstm: [[LSTM.Cache]]               // [layer][direction]
        let hidden: FloatBuffer                // [rows, H] after mlp.0, before ReLU
        let activated: FloatBuffer             // [rows, H] after ReLU
        let dLayer: FloatBuffer                // scratch for the backward pass
        let dInput: FloatBuffer
        public let output: FloatBuffer         // [rows, H]

        init(rows: Int, width: Int) {
            layerOutputs = (0 ..< 2).map { _ in FloatBuffer(count: rows * width) }
            lstm = (0 ..< 2).map { _ in (0 ..< 2).map { _ in LSTM.Cache(steps: rows, hidden: width / 2) } }
            hidden = FloatBuffer(count: rows * width)
            activated = FloatBuffer(count: rows * width)
            dLayer = FloatBuffer(count: rows * width)
            dInput = FloatBuffer(count: rows * width)
            output = FloatBuffer(count: rows * width)
        }
    }

    public func makeCache() -> Cache { Cache(rows: rows, width: width) }

    /// Computes the prompt vectors into `cache.output` (`[rows, H]`).
    public func forward(_ cache: Cache) {
        let p = UnsafePointer(parameters.pointer)
        var input = p + embedding
        for layer in 0 ..< layers {
            let out = cache.layerOutputs[layer].pointer
            for (d, direction) in directions[layer].enumerated() {
                LSTM.forward(out: out + d * half, outStride: width, inp: input, steps: rows, inFeatures: width, hidden: half,
                             weightIH: p + direction.weightIH, weightHH: p + direction.weightHH,
                             biasIH: p + direction.biasIH, biasHH: p + direction.biasHH,
                             reversed: d == 1, cache: cache.lstm[layer][d])
            }
            input = UnsafePointer(out)
        }
        Linear.forward(out: cache.hidden.pointer, inp: input, weight: p + mlpWeight1, bias: p + mlpBias1,
                       rows: rows, inFeatures: width, outFeatures: width)
        for i in 0 ..< rows * width { cache.activated.pointer[i] = max(cache.hidden.pointer[i], 0) }
        Linear.forward(out: cache.output.pointer, inp: cache.activated.pointer, weight: p + mlpWeight2, bias: p + mlpBias2,
                       rows: rows, inFeatures: width, outFeatures: width)
    }

    /// Adds dLoss/dParameters into ``gradients``, given `dOutput` = dLoss/d(`cache.output`).
    public func backward(_ cache: Cache, dOutput: UnsafePointer<Float>) {
        let p = UnsafePointer(parameters.pointer)
        let g = gradients.pointer
        let n = rows * width
        let dActivated = cache.dLayer.pointer
        Linear.backward(dInp: dActivated, dWeight: g + mlpWeight2, dBias: g + mlpBias2, dOut: dOutput,
                        inp: cache.activated.pointer, weight: p + mlpWeight2, rows: rows, inFeatures: width,
                        outFeatures: width, accumulateInput: false)
        for i in 0 ..< n where cache.hidden.pointer[i] <= 0 { dActivated[i] = 0 }
        // dLoss/d(last LSTM layer's output) into dInput.
        var dOut = cache.dInput.pointer
        Linear.backward(dInp: dOut, dWeight: g + mlpWeight1, dBias: g + mlpBias1, dOut: dActivated,
                        inp: cache.layerOutputs[layers - 1].pointer, weight: p + mlpWeight1, rows: rows,
                        inFeatures: width, outFeatures: width, accumulateInput: false)
        var dIn = cache.dLayer.pointer
        for layer in stride(from: layers - 1, through: 0, by: -1) {
            let input = layer == 0 ? p + embedding : UnsafePointer(cache.layerOutputs[layer - 1].pointer)
            // Layer 0's input is the embedding: its gradient goes straight into the gradient buffer.
            let target = layer == 0 ? g + embedding : dIn
            for (d, direction) in directions[layer].enumerated() {
                LSTM.backward(dInp: target, accumulateInput: layer == 0 || d == 1,
                              dOut: dOut + d * half, dOutStride: width, inp: input, steps: rows, inFeatures: width,
                              hidden: half, weightIH: p + direction.weightIH, weightHH: p + direction.weightHH,
                              dWeightIH: g + direction.weightIH, dWeightHH: g + direction.weightHH,
                              dBiasIH: g + direction.biasIH, dBiasHH: g + direction.biasHH,
                              reversed: d == 1, cache: cache.lstm[layer][d])
            }
            swap(&dOut, &dIn)
        }
    }

    public func zeroGradients() { gradients.zero() }

    /// The MLP's hidden layer before its ReLU, `[rows, H]`, from the last forward (for tests and diagnostics).
    public func preActivation(_ cache: Cache) -> [Float] { cache.hidden.array(0 ..< rows * width) }
}
