/// The workers a coordinator knows: their routing identities, ranks and liveness, and which job's
/// model each holds.
struct WorkerRegistry {
    struct Peer {
        let identity: [UInt8]
        let workerID: String
        let rank: UInt32
        var threads: UInt32
        var hostname: String
        var lastHeard: ContinuousClock.Instant
        var lastSent: ContinuousClock.Instant
        /// The job whose model was sent to this worker (worker.Load), and whether it has loaded it.
        var attachedJob: String?
        var loaded = false
        /// A job this worker could not load: it is not asked again for that job.
        var refusedJob: String?
    }

    private(set) var peers: [[UInt8]: Peer] = [:]
    private var nextRank: UInt32 = 0

    var count: Int { peers.count }

    /// Registers a worker (again): a known worker id that comes back on a new identity replaces its
    /// old entry and keeps its rank; a new one gets the next rank.
    mutating func register(identity: [UInt8], ready: Relbert_V1_ReadyRequest) -> Peer {
        let now = ContinuousClock.now
        var rank: UInt32?
        for (key, peer) in peers where peer.workerID == ready.workerID {
            rank = peer.rank
            peers[key] = nil
        }
        if rank == nil {
            rank = nextRank
            nextRank += 1
        }
        let peer = Peer(identity: identity, workerID: ready.workerID, rank: rank!, threads: ready.threads,
                        hostname: ready.hostname, lastHeard: now, lastSent: now)
        peers[identity] = peer
        return peer
    }

    func peer(_ identity: [UInt8]) -> Peer? { peers[identity] }

    mutating func heard(_ identity: [UInt8]) {
        peers[identity]?.lastHeard = .now
    }

    mutating func sent(_ identity: [UInt8]) {
        peers[identity]?.lastSent = .now
    }

    mutating func attach(_ identity: [UInt8], job: String?) {
        peers[identity]?.attachedJob = job
        peers[identity]?.loaded = false
    }

    mutating func markRefused(_ identity: [UInt8], job: String) {
        peers[identity]?.refusedJob = job
        peers[identity]?.attachedJob = nil
        peers[identity]?.loaded = false
    }

    mutating func markLoaded(_ identity: [UInt8], job: String) {
        if peers[identity]?.attachedJob == job { peers[identity]?.loaded = true }
    }

    mutating func remove(_ identity: [UInt8]) -> Peer? {
        peers.removeValue(forKey: identity)
    }

    /// Peers silent for longer than `expiry`, removed.
    mutating func expire(after expiry: Duration) -> [Peer] {
        let now = ContinuousClock.now
        let gone = peers.values.filter { now - $0.lastHeard > expiry }
        for peer in gone { peers[peer.identity] = nil }
        return gone
    }

    /// Peers in rank order.
    var byRank: [Peer] { peers.values.sorted { $0.rank < $1.rank } }
}

import RelBERTProtocol
