// The C++ runtime's exception state, kept per tasklet.
//
// The runtime keeps the caught-exception chain and the uncaught count (__cxa_eh_globals)
// per *thread*. Tasklets share their thread, so each keeps its own copy and every switch
// swaps it: a tasklet may switch inside a catch block or during unwinding without
// corrupting another tasklet's state (docs/semantics.md §4).
#pragma once

namespace tasklets::detail {

struct eh_state {
    void* caught = nullptr;
    unsigned int uncaught = 0;
    unsigned int padding = 0;  // the runtime's struct is 16 bytes too: copied whole, as one vector move
};
static_assert(sizeof(eh_state) == 16, "__cxa_eh_globals on an LP64 Itanium C++ ABI: a pointer and an unsigned int");

}  // namespace tasklets::detail
