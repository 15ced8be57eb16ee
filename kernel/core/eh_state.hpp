// The C++ runtime's exception state, kept per tasklet.
//
// The runtime keeps the caught-exception chain and the uncaught count (__cxa_eh_globals)
// per *thread*. Tasklets share their thread, so each keeps its own copy and every switch
// swaps it: a tasklet may switch inside a catch block or during unwinding without
// corrupting another tasklet's state (docs/semantics.md §4).
#pragma once

namespace tasklets::detail {

// Copied over the runtime's struct whole, so it must be exactly that size: a wider copy
// would overwrite the thread-local data next to it.
struct eh_state {
    void* caught = nullptr;
    unsigned int uncaught = 0;
#if __SIZEOF_POINTER__ == 8
    unsigned int padding = 0;  // the runtime's struct is 16 bytes too: copied whole, as one vector move
#endif
};
static_assert(sizeof(eh_state) == sizeof(void*) + sizeof(unsigned int) + (sizeof(void*) == 8 ? 4 : 0),
              "__cxa_eh_globals in the Itanium C++ ABI: a pointer and an unsigned int (16 bytes on LP64, 8 on ILP32)");

}  // namespace tasklets::detail
