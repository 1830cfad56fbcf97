import RelBERT
import RelBERTProtocol
import ZeroMQ

/// Sums one step's shard gradients into the coordinator's gradient buffer as their parts arrive: a
/// streamed backward pass sends one bucket per encoder layer (last layer first) and then the final
/// reply with the rest; an unstreamed one only the final reply. Every part is summed in shard order
/// (shard 0's copied in, then + shard 1's, + shard 2's, ...), the order the local trainer sums its
/// threads' gradients in, so streaming changes when the sum is made, never its value.
///
/// The caller zeroes the word-table rows of the previous step first (the other parts are
/// overwritten by shard 0).
struct GradientGather {
    /// A part that does not fit: which shard sent it, and why.
    struct Malformed: Error {
        let shard: Int
        let error: ProtocolError
    }

    let codec: GradientCodec
    let target: UnsafeMutablePointer<Float>
    let streamed: Bool
    /// Per shard: parts received and not summed yet (they wait for the shard before), and parts summed.
    private var waiting: [[Envelope]]
    private var summed: [Int]
    /// Word-table rows any shard's gradient touched.
    private(set) var touchedRows = Set<Int32>()
    /// The slowest shard's compute time, as its final reply reports it.
    private(set) var slowestSeconds = 0.0
    private(set) var bytesReceived = 0

    init(codec: GradientCodec, target: UnsafeMutablePointer<Float>, shards: Int, streamed: Bool) {
        self.codec = codec
        self.target = target
        self.streamed = streamed
        waiting = Array(repeating: [], count: shards)
        summed = Array(repeating: 0, count: shards)
    }

    /// Layer buckets before each shard's final reply.
    var bucketsPerShard: Int { streamed ? codec.layerStarts.count : 0 }

    /// True once every shard's every part is summed.
    var isComplete: Bool { summed.allSatisfy { $0 == bucketsPerShard + 1 } }

    /// Takes shard `shard`'s next part (parts of one shard arrive in the order it sent them) and sums
    /// whatever can be summed now.
    mutating func receive(_ part: Envelope, shard: Int) throws(Malformed) {
        let index = summed[shard] + waiting[shard].count
        let isBucket = index < bucketsPerShard
        guard part.header.moreFollows == isBucket, index <= bucketsPerShard else {
            throw Malformed(shard: shard, error: ProtocolError(.invalidArgument,
                "a backward reply in \(bucketsPerShard) layer buckets and a final part: part \(index + 1) \(part.header.moreFollows ? "is another bucket" : "ends it early")"))
        }
        waiting[shard].append(part)
        try sumWhatIsReady()
    }

    private mutating func sumWhatIsReady() throws(Malformed) {
        var progress = true
        while progress {
            progress = false
            for shard in summed.indices where !waiting[shard].isEmpty && (shard == 0 || summed[shard - 1] > summed[shard]) {
                let part = waiting[shard].removeFirst()
                do {
                    try sum(part, index: summed[shard], overwrite: shard == 0)
                } catch {
                    throw Malformed(shard: shard, error: error)
                }
                summed[shard] += 1
                progress = true
            }
        }
    }

    private mutating func sum(_ part: Envelope, index: Int, overwrite: Bool) throws(ProtocolError) {
        let body = try part.body(as: Relbert_V1_BackwardReply.self)
        if index < bucketsPerShard {
            let layer = bucketsPerShard - 1 - index
            guard body.bucketOffset == UInt64(codec.layerRange(layer).lowerBound) else {
                throw ProtocolError(.invalidArgument, "gradient bucket \(index + 1) starts at parameter \(body.bucketOffset); layer \(layer) starts at \(codec.layerRange(layer).lowerBound)")
            }
            try codec.addLayer(part.tensors, specs: body.tensors, layer: layer, into: target, overwrite: overwrite)
        } else {
            let rows = try codec.add(part.tensors, specs: body.tensors, into: target, overwrite: overwrite, streamed: streamed)
            touchedRows.formUnion(rows)
            slowestSeconds = max(slowestSeconds, body.computeSeconds)
        }
        bytesReceived += part.tensors.reduce(0) { $0 + $1.count }
    }
}
