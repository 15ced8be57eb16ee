// tasklets_fuzz_diff — the differential test as a libFuzzer target: the input bytes are
// decoded into a program (diff::decode, tests/model/program.hpp), which runs on the real
// library and on the reference model; any difference in their event logs aborts, after
// printing the program, the first difference, and the shrunk program as a TEST_CASE.
// Built by tests/fuzz/CMakeLists.txt when the compiler supports -fsanitize=fuzzer; run by
// tests/fuzz/run_fuzz.sh (see there).
#include "model/shrink.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const diff::program p = diff::decode(data, size);
    const diff::comparison r = diff::compare(p);
    if (r.same()) return 0;
    std::printf("MISMATCH between the library and the model\n%s%s", diff::describe(p).c_str(), r.report().c_str());
    const diff::program small = diff::shrink(p, [](const diff::program& q) { return !diff::compare(q).same(); });
    const diff::comparison rs = diff::compare(small);
    std::printf("shrunk to:\n%s%s\n%s\n", diff::describe(small).c_str(), rs.report().c_str(),
                diff::repro_code(small, rs.model, "found by the fuzzer", true).c_str());
    std::fflush(stdout);
    std::abort();
}
