// Asynchronous signals held back while native code runs (an RAII guard around every call into the addon).
//
// oneDNN's JIT GEMM kernels (jit_avx512_common_gemm_f32, which dnnl_sgemm and oneDNN's gemm-based convolutions
// run) point the stack pointer into heap memory while they work, so a signal handler that runs on such a thread
// writes its frame over the heap: glibc then aborts ("corrupted size vs. prev_size") at a later free. V8's CPU
// profiler (`node --cpu-prof`, the inspector's Profiler) sends SIGPROF every millisecond, and any process signal
// (SIGINT, SIGCHLD, SIGWINCH) can land on a thread inside the kernel. Fixed upstream in oneDNN 3.11.2
// (uxlfoundation/oneDNN#4845); Debian's 2.6 and 3.x up to 3.11.1 have it. The calling thread blocks every signal
// but the synchronous faults for the call's duration, and OpenMP's worker threads, which start inside a call,
// inherit that mask for good. A blocked signal stays pending and is handled when the call returns.
#pragma once
#include <pthread.h>

#include <csignal>
#include <initializer_list>

class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&all, fault);
    pthread_sigmask(SIG_BLOCK, &all, &previous_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  SignalsBlocked(const SignalsBlocked &) = delete;
  SignalsBlocked &operator=(const SignalsBlocked &) = delete;

 private:
  sigset_t previous_;
};
