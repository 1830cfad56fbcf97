import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One background job at a time on a thread of its own at the lowest CPU priority (nice 19). Work put
/// here fills the gaps the busier threads and processes leave (a worker waiting for the other, a step
/// waiting on the wire) instead of taking a core from them; if there are no gaps, `wait()` lets the
/// caller finish it at the cost it always had.
final class IdlePriorityThread: @unchecked Sendable {
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Written by the owner before `wake`, read by the thread after it.
    private var job: (() -> Void)?
    private var stopping = false
    /// Owner-side: a job was started and not waited for.
    private var running = false

    init(name: String) {
        let thread = Thread { [self] in
            #if canImport(Glibc)
            // On Linux the nice value belongs to the thread, and 0 names the calling thread.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
            #endif
            while true {
                wake.wait()
                if stopping { return }
                job?()
                job = nil
                finished.signal()
            }
        }
        thread.name = name
        thread.start()
    }

    /// Starts `job` (the previous one must have been waited for).
    func start(_ job: @escaping () -> Void) {
        precondition(!running, "IdlePriorityThread: wait() for the running job first")
        running = true
        self.job = job
        wake.signal()
    }

    /// Returns once the job started last has finished (at once if none is running).
    func wait() {
        guard running else { return }
        finished.wait()
        running = false
    }

    /// Finishes the running job, then ends the thread.
    func stop() {
        wait()
        stopping = true
        wake.signal()
    }
}
