// The Windows toolchain's first check (toolchains/x86_64-w64-mingw32.cmake): what the
// library relies on from the C++ runtime, run under Wine. A C++ exception (SEH-based
// unwinding on MinGW-w64 x64), a thread_local seen separately per thread, and std::thread
// (the -posix compiler variant, on winpthreads). Prints what failed; exits non-zero then.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

thread_local int per_thread = 1;

[[gnu::noinline]] int throw_through(int depth) {
    if (depth == 0) throw std::runtime_error("thrown 3 frames down");
    return throw_through(depth - 1) + 1;  // not a tail call: every frame is unwound
}

}  // namespace

int main() {
    int failures = 0;
    std::string caught;
    try {
        throw_through(3);
    } catch (const std::runtime_error& e) {
        caught = e.what();
    }
    if (caught != "thrown 3 frames down") {
        std::printf("exception: caught \"%s\"\n", caught.c_str());
        ++failures;
    }

    int seen_by_thread = 0;
    std::string caught_on_thread;
    std::thread t([&] {
        per_thread = 7;  // this thread's copy only
        seen_by_thread = per_thread;
        try {
            throw_through(2);
        } catch (const std::exception& e) {
            caught_on_thread = e.what();
        }
    });
    t.join();
    if (seen_by_thread != 7 || per_thread != 1) {
        std::printf("thread_local: thread saw %d, main sees %d (want 7 and 1)\n", seen_by_thread, per_thread);
        ++failures;
    }
    if (caught_on_thread != "thrown 3 frames down") {
        std::printf("exception on a std::thread: caught \"%s\"\n", caught_on_thread.c_str());
        ++failures;
    }
    if (failures == 0) std::printf("ok\n");
    return failures == 0 ? 0 : 1;
}
