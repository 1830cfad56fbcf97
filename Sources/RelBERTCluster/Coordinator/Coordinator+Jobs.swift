import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// The client-facing methods: jobs.Submit, jobs.List, jobs.Status, jobs.Cancel, jobs.Fetch.
extension Coordinator {
    func serveClient(_ envelope: Envelope) -> Envelope {
        let header = envelope.header
        do throws(ProtocolError) {
            switch header.method {
            case Method.submit:
                let request = try envelope.body(as: Relbert_V1_SubmitRequest.self)
                var promptSearch: PromptSearchSpec?
                let configuration: TrainingConfiguration
                if request.promptSearchJson.isEmpty {
                    guard let data = request.configurationJson.data(using: .utf8),
                          let decoded = try? JSONDecoder().decode(TrainingConfiguration.self, from: data) else {
                        throw ProtocolError(.invalidArgument, "jobs.Submit: configuration_json is not a training configuration")
                    }
                    configuration = decoded
                } else {
                    do {
                        promptSearch = try JSONDecoder().decode(PromptSearchSpec.self, from: Data(request.promptSearchJson.utf8))
                    } catch {
                        throw ProtocolError(.invalidArgument, "jobs.Submit: prompt_search_json is not a prompt search: \(error)")
                    }
                    configuration = TrainingConfiguration()
                }
                guard request.idempotencyKey.utf8.count <= 128 else {
                    throw ProtocolError(.invalidArgument, "jobs.Submit: the idempotency key is longer than 128 bytes")
                }
                for (name, path) in [("model", request.modelDirectory), ("data", request.dataDirectory)] {
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                        throw ProtocolError(.notFound, "jobs.Submit: the \(name) folder '\(path)' does not exist on the coordinator")
                    }
                }
                let result: (job: JobRecord, existed: Bool)
                do {
                    result = try submit(configuration: configuration, promptSearch: promptSearch, modelDirectory: request.modelDirectory,
                                        dataDirectory: request.dataDirectory,
                                        idempotencyKey: request.idempotencyKey.isEmpty ? nil : request.idempotencyKey)
                } catch {
                    throw ProtocolError(.invalidArgument, "jobs.Submit: \(error)")
                }
                var reply = Relbert_V1_SubmitReply()
                reply.jobID = result.job.id
                reply.existed = result.existed
                return .reply(to: header, message: reply)
            case Method.list:
                var reply = Relbert_V1_ListReply()
                reply.jobs = jobs.map(status)
                return .reply(to: header, message: reply)
            case Method.status:
                let request = try envelope.body(as: Relbert_V1_StatusRequest.self)
                return .reply(to: header, message: status(try existingJob(request.jobID)))
            case Method.cancel:
                let request = try envelope.body(as: Relbert_V1_CancelRequest.self)
                let job = try existingJob(request.jobID)
                switch job.state {
                case .queued:
                    try? store.update(job.id) { $0.state = .cancelled }
                case .running:
                    cancelRequested.insert(job.id)
                default:
                    throw ProtocolError(.failedPrecondition, "jobs.Cancel: job \(job.id) has already \(job.state.rawValue)")
                }
                return .reply(to: header, message: status(store.job(job.id) ?? job))
            case Method.fetch:
                let request = try envelope.body(as: Relbert_V1_FetchRequest.self)
                let job = try existingJob(request.jobID)
                guard job.state == .succeeded else {
                    throw ProtocolError(.failedPrecondition, "jobs.Fetch: job \(job.id) is \(job.state.rawValue); only a finished job has a model")
                }
                return try fetch(job, header: header)
            default:
                throw ProtocolError(.unimplemented, header.method)
            }
        } catch {
            return .error(to: header, error)
        }
    }

    private func existingJob(_ id: String) throws(ProtocolError) -> JobRecord {
        guard let job = store.job(id) else { throw ProtocolError(.notFound, "no job '\(id)'") }
        return job
    }

    func status(_ job: JobRecord) -> Relbert_V1_JobStatus {
        var s = Relbert_V1_JobStatus()
        s.jobID = job.id
        s.state = switch job.state {
        case .queued: .jobQueued
        case .running: .jobRunning
        case .succeeded: .jobSucceeded
        case .failed: .jobFailed
        case .cancelled: .jobCancelled
        }
        s.step = UInt64(job.step)
        s.totalSteps = UInt64(job.totalSteps)
        s.loss = job.loss
        s.sequencesPerSecond = job.sequencesPerSecond
        s.secondsElapsed = job.secondsElapsed
        s.workersAlive = UInt32(registry.count)
        s.error = job.error ?? ""
        s.submittedUnix = job.submitted
        if let spec = job.promptSearch {
            if let data = try? JSONEncoder().encode(spec) { s.promptSearchJson = String(decoding: data, as: UTF8.self) }
        } else if let data = try? JSONEncoder().encode(job.configuration) {
            s.configurationJson = String(decoding: data, as: UTF8.self)
        }
        return s
    }

    /// The files of the job's trained model, one U8 tensor frame each.
    private func fetch(_ job: JobRecord, header: Relbert_V1_Header) throws(ProtocolError) -> Envelope {
        let directory = URL(fileURLWithPath: job.output).appendingPathComponent("model")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), !names.isEmpty else {
            throw ProtocolError(.notFound, "jobs.Fetch: the model of job \(job.id) is missing from \(directory.path)")
        }
        var reply = Relbert_V1_FetchReply()
        var frames: [ZMQFrame] = []
        guard names.count <= Self.limits.maxTensorFrames else {
            throw ProtocolError(.resourceExhausted, "jobs.Fetch: \(names.count) files in \(directory.path), more than a reply carries")
        }
        for name in names {
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
                throw ProtocolError(.dataLoss, "jobs.Fetch: cannot read \(name) of job \(job.id)")
            }
            reply.files.append(TensorFrames.spec(name, .u8, [data.count]))
            frames.append(ZMQFrame(data))
        }
        return .reply(to: header, Envelope.Parts(message: reply, tensors: frames))
    }
}
