// ABI conformance of the context switch, part 2: floating-point control and status.
//
// The rule on every architecture (see arch/README.md): FP *control* state belongs to a
// context — switched, and inherited by a fresh context from its creator — while FP
// *status* (exception flags) is not part of a context.
//   x86-64, i386: MXCSR and the x87 control word are switched.
//   AArch64: FPCR is switched; FPSR (the flags) stays with the thread.
//   RISC-V:  frm is switched; fflags stays with the thread.
//   s390x:   the FPC's control bits are switched; its flags and DXC stay with the thread.
//   armhf:   FPSCR's control bits are switched; its flags stay with the thread.
//   ppc64le: the FPSCR's control bits are switched; its flags stay with the thread.
//   MIPS:    the FCSR's control bits (RM, enables, FS) are switched; its flags, cause and
//            condition codes stay with the thread.
#include <catch2/catch.hpp>

#include <tasklets/context.hpp>
#include "support/valgrind_stack.hpp"

#include <bit>
#include <cfenv>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr std::size_t stack_bytes = 64 * 1024;

// One piece of FP control state, read and written directly (not through <fenv.h>, which
// on x86 reads only the x87 half and never touches precision control).
struct fp_control {
    const char* name;
    std::uint64_t (*get)();
    void (*set)(std::uint64_t);
    // Distinct values for the thread's own stack, context A, context B and context C.
    std::uint64_t main_value, a_value, b_value, c_value;
};

#if defined(__x86_64__) || defined(__i386__)
// stmxcsr/ldmxcsr directly: the i386 baseline compiles without -msse, which the
// <xmmintrin.h> intrinsics would need (the switch needs SSE at run time anyway).
std::uint64_t get_mxcsr() {
    std::uint32_t v;
    asm volatile("stmxcsr %0" : "=m"(v));
    return v;
}
void set_mxcsr(std::uint64_t v) {
    auto csr = static_cast<std::uint32_t>(v);
    asm volatile("ldmxcsr %0" : : "m"(csr));
}
std::uint64_t get_x87cw() {
    std::uint16_t cw;
    asm volatile("fnstcw %0" : "=m"(cw));
    return cw;
}
void set_x87cw(std::uint64_t v) {
    auto cw = static_cast<std::uint16_t>(v);
    asm volatile("fldcw %0" : : "m"(cw));
}
const std::vector<fp_control> controls = {
    // All exceptions masked; rounding (bits 13-14) down, up, toward zero, nearest with
    // flush-to-zero (bit 15) and denormals-are-zero (bit 6).
    {"MXCSR", get_mxcsr, set_mxcsr, 0x3F80, 0x5F80, 0x7F80, 0x9FC0},
    // All exceptions masked; precision control (bits 8-9) double, single, extended,
    // double; rounding (bits 10-11) down, up, toward zero, nearest.
    {"x87 control word", get_x87cw, set_x87cw, 0x067F, 0x087F, 0x0F7F, 0x027F},
};
#elif defined(__aarch64__)
std::uint64_t get_fpcr() {
    std::uint64_t v;
    asm volatile("mrs %0, fpcr" : "=r"(v));
    return v;
}
void set_fpcr(std::uint64_t v) { asm volatile("msr fpcr, %0" : : "r"(v)); }
const std::vector<fp_control> controls = {
    // RMode (bits 22-23) toward minus infinity, toward plus infinity with flush-to-zero
    // (bit 24), toward zero with default NaN (bit 25), nearest with both.
    {"FPCR", get_fpcr, set_fpcr, 2u << 22, (1u << 22) | (1u << 24), (3u << 22) | (1u << 25), (1u << 24) | (1u << 25)},
};
#elif defined(__arm__)
std::uint64_t get_fpscr() {
    std::uint32_t v;
    asm volatile("vmrs %0, fpscr" : "=r"(v));
    return v & 0x07FF'FF00u;  // the control bits; the flags are the thread's (below)
}
void set_fpscr(std::uint64_t v) {
    std::uint32_t fpscr;
    asm volatile("vmrs %0, fpscr" : "=r"(fpscr));
    fpscr = (fpscr & ~0x07FF'FF00u) | (static_cast<std::uint32_t>(v) & 0x07FF'FF00u);
    asm volatile("vmsr fpscr, %0" : : "r"(fpscr));
}
const std::vector<fp_control> controls = {
    // RMode (bits 22-23) toward minus infinity, toward plus infinity with flush-to-zero
    // (bit 24), toward zero with default NaN (bit 25), nearest with both (the bits are
    // those of AArch64's FPCR).
    {"FPSCR", get_fpscr, set_fpscr, 2u << 22, (1u << 22) | (1u << 24), (3u << 22) | (1u << 25), (1u << 24) | (1u << 25)},
};
#elif defined(__riscv)
std::uint64_t get_frm() {
    std::uint64_t v;
    asm volatile("frrm %0" : "=r"(v));
    return v;
}
void set_frm(std::uint64_t v) { asm volatile("fsrm %0" : : "r"(v)); }
const std::vector<fp_control> controls = {
    // RDN (down), RUP (up), RTZ (toward zero), RMM (nearest, ties away from zero).
    {"frm", get_frm, set_frm, 2, 3, 1, 4},
};
#elif defined(__s390x__)
// The FPC's control bits: IEEE exception masks (0xfc000000), DFP rounding mode (0x70)
// and BFP rounding mode (0x07). The rest (flags, DXC) is status, which the switch keeps
// per thread, so it is left out of what the test compares and preserved when setting.
constexpr std::uint32_t fpc_control_bits = 0xfc000077u;
std::uint64_t get_fpc() {
    std::uint32_t v;
    asm volatile("efpc %0" : "=d"(v));
    return v & fpc_control_bits;
}
void set_fpc(std::uint64_t v) {
    std::uint32_t cur;
    asm volatile("efpc %0" : "=d"(cur));
    const std::uint32_t fpc = (cur & ~fpc_control_bits) | (static_cast<std::uint32_t>(v) & fpc_control_bits);
    asm volatile("sfpc %0" : : "d"(fpc));
}
const std::vector<fp_control> controls = {
    // BFP rounding toward minus infinity (3), plus infinity (2), zero (1), nearest (0),
    // each with a different DFP rounding mode (bits 25-27); A and C also enable a trap
    // (underflow, overflow), which nothing between the switches can raise. BFP modes 4-7
    // need the floating-point-extension facility, which QEMU's default CPU lacks (SET FPC
    // raises a specification exception).
    {"FPC", get_fpc, set_fpc, 0x13, 0x1000'0022, 0x51, 0x2000'0070},
};
#elif defined(__powerpc64__)
// The FPSCR's control bits, counted from the least significant of its 64-bit image:
// RN (0-1), NI (2), the exception enables XE ZE UE OE VE (3-7) and DRN (32-34). The rest
// is status, which the switch keeps per thread, so it is left out of what the test
// compares and preserved when setting.
constexpr std::uint64_t fpscr_control_bits = 0x7'0000'00ffull;
std::uint64_t read_fpscr() {
    double image;
    asm volatile("mffs %0" : "=d"(image));
    return std::bit_cast<std::uint64_t>(image);
}
std::uint64_t get_fpscr() { return read_fpscr() & fpscr_control_bits; }
void set_fpscr(std::uint64_t v) {
    const double image = std::bit_cast<double>((read_fpscr() & ~fpscr_control_bits) | (v & fpscr_control_bits));
    // Low word fields 6-7 (VE OE UE ZE, XE NI RN) and high word field 7 (DRN), as the switch.
    asm volatile("mtfsf 0x03, %0\n\tmtfsf 0x01, %0, 0, 1" : : "d"(image));
}
const std::vector<fp_control> controls = {
    // Binary rounding toward minus infinity (3), plus infinity (2), zero (1), nearest (0),
    // each with a different decimal rounding mode (DRN); A and C also enable an exception
    // (overflow; underflow with non-IEEE mode), which nothing between the switches raises
    // (and Linux leaves the MSR's FE bits clear, so an enabled exception would not trap).
    {"FPSCR", get_fpscr, set_fpscr, 0x3, 0x1'0000'0042, 0x3'0000'0001, 0x7'0000'0024},
};
#elif defined(__mips__)
// The FCSR's control bits: FS (flush to zero, 0x01000000), the exception enables (0xf80)
// and RM (0x3). The rest is status, which the switch keeps per thread, so it is left out
// of what the test compares and preserved when setting (cause bits cleared: ctc1 traps on
// a cause bit whose enable is set).
constexpr std::uint32_t fcsr_control_bits = 0x01000f83u;
std::uint64_t get_fcsr() {
    std::uint32_t v;
    asm volatile("cfc1 %0, $31" : "=r"(v));
    return v & fcsr_control_bits;
}
void set_fcsr(std::uint64_t v) {
    std::uint32_t cur;
    asm volatile("cfc1 %0, $31" : "=r"(cur));
    const std::uint32_t fcsr =
        (cur & ~fcsr_control_bits & ~0x0003f000u) | (static_cast<std::uint32_t>(v) & fcsr_control_bits);
    asm volatile("ctc1 %0, $31" : : "r"(fcsr));
}
const std::vector<fp_control> controls = {
    // RM toward minus infinity (3), plus infinity (2) with flush-to-zero, toward zero (1)
    // with the overflow trap enabled, nearest (0) with flush-to-zero and the underflow trap
    // enabled (nothing between the switches can raise either).
    {"FCSR", get_fcsr, set_fcsr, 0x3, 0x0100'0002, 0x201, 0x0100'0100},
};
#else
#error "tasklets FP tests: no FP control access for this architecture"
#endif

struct raw_stack {
    std::unique_ptr<std::byte[]> bytes{new std::byte[stack_bytes]};
    tasklets_test::valgrind_stack registered{bytes.get(), stack_bytes};  // switched onto by hand
    void* base() const { return bytes.get(); }
};

// What each context saw, recorded while running and checked after the original state is
// back (Catch2 itself must not run with, say, single precision).
struct fp_run {
    const fp_control* control;
    tasklets::context main, a, b, c;
    std::uint64_t a_at_entry = 0, b_at_entry = 0, c_at_entry = 0;
    std::uint64_t a_after_c = 0, a_on_resume = 0, b_on_resume = 0;
    std::vector<std::uint64_t> main_seen;
    raw_stack c_stack;
};

[[noreturn]] void c_entry(void* value) {
    auto* run = static_cast<fp_run*>(value);
    run->c_at_entry = run->control->get();
    run->control->set(run->control->c_value);
    for (;;) tasklets::switch_context(run->c, run->a);
}

[[noreturn]] void a_entry(void* value) {
    auto* run = static_cast<fp_run*>(value);
    run->a_at_entry = run->control->get();
    run->control->set(run->control->a_value);
    // A context created here inherits A's state, changes its own, and leaves A's alone.
    tasklets::context c = tasklets::make_context(run->c_stack.base(), stack_bytes, &c_entry);
    tasklets::switch_context(run->a, c, run);
    run->a_after_c = run->control->get();
    tasklets::switch_context(run->a, run->main);
    run->a_on_resume = run->control->get();
    for (;;) tasklets::switch_context(run->a, run->main);
}

[[noreturn]] void b_entry(void* value) {
    auto* run = static_cast<fp_run*>(value);
    run->b_at_entry = run->control->get();
    run->control->set(run->control->b_value);
    tasklets::switch_context(run->b, run->main);
    run->b_on_resume = run->control->get();
    for (;;) tasklets::switch_context(run->b, run->main);
}

}  // namespace

TEST_CASE("abi: FP control state belongs to each context and a fresh context inherits its creator's",
          "[abi][fp][context]") {
    for (const fp_control& control : controls) {
        DYNAMIC_SECTION(control.name) {
            fp_run run;
            run.control = &control;
            raw_stack a_stack, b_stack;
            const std::uint64_t original = control.get();

            control.set(control.main_value);
            tasklets::context a = tasklets::make_context(a_stack.base(), stack_bytes, &a_entry);
            tasklets::switch_context(run.main, a, &run);  // A changes its state, makes C
            run.main_seen.push_back(control.get());
            // Made after A changed its state: B inherits main's, not A's.
            tasklets::context b = tasklets::make_context(b_stack.base(), stack_bytes, &b_entry);
            tasklets::switch_context(run.main, b, &run);
            run.main_seen.push_back(control.get());
            tasklets::switch_context(run.main, run.a);
            run.main_seen.push_back(control.get());
            tasklets::switch_context(run.main, run.b);
            run.main_seen.push_back(control.get());

            control.set(original);

            CHECK(run.a_at_entry == control.main_value);
            CHECK(run.c_at_entry == control.a_value);
            CHECK(run.a_after_c == control.a_value);
            CHECK(run.b_at_entry == control.main_value);
            CHECK(run.a_on_resume == control.a_value);
            CHECK(run.b_on_resume == control.b_value);
            CHECK(run.main_seen == std::vector<std::uint64_t>(4, control.main_value));
        }
    }
}

namespace {

// Opaque to the optimiser, so the division happens at run time in the current mode.
[[gnu::noinline]] double divide(double x, double y) {
    volatile double vx = x, vy = y;
    return vx / vy;
}

struct rounding_run {
    tasklets::context main, self;
    double upward_third = 0;
};

[[noreturn]] void upward_entry(void* value) {
    auto* run = static_cast<rounding_run*>(value);
    std::fesetround(FE_UPWARD);
    tasklets::switch_context(run->self, run->main);
    run->upward_third = divide(1.0, 3.0);  // still upward after main ran downward
    for (;;) tasklets::switch_context(run->self, run->main);
}

}  // namespace

TEST_CASE("abi: fesetround() in a context rounds only that context's arithmetic", "[abi][fp][context]") {
    raw_stack stack;
    rounding_run run;
    const int original = std::fegetround();
    std::fesetround(FE_DOWNWARD);
    tasklets::context ctx = tasklets::make_context(stack.base(), stack_bytes, &upward_entry);
    tasklets::switch_context(run.main, ctx, &run);
    const int main_mode = std::fegetround();
    const double downward_third = divide(1.0, 3.0);
    tasklets::switch_context(run.main, run.self);
    const double main_third_after = divide(1.0, 3.0);
    std::fesetround(original);

    CHECK(main_mode == FE_DOWNWARD);
    CHECK(run.upward_third > downward_third);  // one ulp apart: 1/3 is inexact
    CHECK(main_third_after == downward_third);
}

#if defined(__aarch64__) || defined(__riscv) || defined(__s390x__) || defined(__arm__) || defined(__powerpc64__) || \
    defined(__mips__)
namespace {

struct flags_run {
    tasklets::context main, self;
    int flags_at_entry = -1;
};

[[noreturn]] void inexact_entry(void* value) {
    auto* run = static_cast<flags_run*>(value);
    run->flags_at_entry = std::fetestexcept(FE_ALL_EXCEPT);
    volatile double third = divide(1.0, 3.0);  // raises FE_INEXACT
    (void)third;
    for (;;) tasklets::switch_context(run->self, run->main);
}

}  // namespace

// Documented choice (arch/aarch64/switch_aarch64.S, arch/riscv64/switch_riscv64.S,
// arch/s390x/switch_s390x.S, arch/armhf/switch_armhf.S, arch/ppc64le/switch_ppc64le.S,
// arch/mips64el/switch_mips64el.S): the cumulative exception flags (FPSR / fflags / the
// FPC's flags / FPSCR's / the FCSR's) are status, not control, and stay with the thread, as
// <fenv.h> keeps them per thread.
TEST_CASE("abi: FP exception flags are per thread, not per context (AArch64 FPSR, RISC-V fflags, s390x FPC flags, ARM FPSCR, ppc64le FPSCR flags, MIPS FCSR flags)",
          "[abi][fp][context]") {
    raw_stack stack;
    flags_run run;
    std::feclearexcept(FE_ALL_EXCEPT);
    std::feraiseexcept(FE_DIVBYZERO);  // visible to the context: flags are not reset by a switch
    tasklets::context ctx = tasklets::make_context(stack.base(), stack_bytes, &inexact_entry);
    tasklets::switch_context(run.main, ctx, &run);
    const int flags_after = std::fetestexcept(FE_ALL_EXCEPT);
    std::feclearexcept(FE_ALL_EXCEPT);

    CHECK(run.flags_at_entry == FE_DIVBYZERO);
    CHECK(flags_after == (FE_DIVBYZERO | FE_INEXACT));
}
#endif
