// The table the gdb extension reads.
//
// tools/gdb/tasklets_gdb.py reads the control blocks through debug information (fields by
// name) and the suspended-context frame through this table, made from the port's frame
// header, so that neither the kernel's field order nor a port's frame layout is written
// down twice. The symbol is referenced with -Wl,--undefined by everything that links
// tasklets (see the top-level CMakeLists.txt and tasklets.pc), so a static link keeps it.
#include <cstdint>

extern "C" {

struct tasklets_debug_frame_slot {
    const char* name;        // e.g. "TASKLETS_FRAME_R12"
    std::uint32_t offset;    // bytes from the saved stack pointer
};

struct tasklets_debug_info_type {
    std::uint32_t layout;    // this struct's version; bumped when fields change meaning
    const char* arch;        // "x86_64", "aarch64", "riscv64", "i386", "s390x", "armhf", "ppc64le", "mips64el", "windows_x64"
    const tasklets_debug_frame_slot* frame;  // ends with a null name
};

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) {#name, value},
static const tasklets_debug_frame_slot tasklets_debug_frame_slots[] = {
#if defined(__x86_64__) && defined(_WIN64)
// Windows x64 (PE/COFF): no gdb extension reads this there yet; the table is kept so the
// symbol exists on every port. Its TASKLETS_TEB_* entries are gs offsets, not frame ones.
#include "frame_windows_x64.h"
#define TASKLETS_DEBUG_ARCH "windows_x64"
#elif defined(__x86_64__)
#include "frame_x86_64.h"
#define TASKLETS_DEBUG_ARCH "x86_64"
#elif defined(__aarch64__)
#include "frame_aarch64.h"
#define TASKLETS_DEBUG_ARCH "aarch64"
#elif defined(__i386__)
#include "frame_i386.h"
#define TASKLETS_DEBUG_ARCH "i386"
#elif defined(__riscv) && __riscv_xlen == 64
#include "frame_riscv64.h"
#define TASKLETS_DEBUG_ARCH "riscv64"
#elif defined(__s390x__)
#include "frame_s390x.h"
#define TASKLETS_DEBUG_ARCH "s390x"
#elif defined(__arm__)
#include "frame_armhf.h"
#define TASKLETS_DEBUG_ARCH "armhf"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && _CALL_ELF == 2
#include "frame_ppc64le.h"
#define TASKLETS_DEBUG_ARCH "ppc64le"
#elif defined(__mips__) && _MIPS_SIM == _ABI64 && defined(__MIPSEL__)
#include "frame_mips64el.h"
#define TASKLETS_DEBUG_ARCH "mips64el"
#else
#error "tasklets: kernel/debug.cpp does not know this architecture's frame header"
#endif
    {nullptr, 0},
};
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern const tasklets_debug_info_type tasklets_debug_info;
__attribute__((used)) const tasklets_debug_info_type tasklets_debug_info = {1, TASKLETS_DEBUG_ARCH, tasklets_debug_frame_slots};

}  // extern "C"
