// A local that notes, when it is destroyed, that its frame unwound: a tasklet killed or
// thrown into while it waits proves by it that its stack was unwound (its destructors ran).
#pragma once

namespace tasklets_test {

struct note_unwound {
    bool& flag;
    ~note_unwound() { flag = true; }
};

}  // namespace tasklets_test
