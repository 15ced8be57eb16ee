// Compiled with -fcf-protection=none: an object without the IBT property, so that the
// control link in tests/CMakeLists.txt proves the linker drops IBT for such an input.
extern "C" int tasklets_cet_control() { return 0; }
