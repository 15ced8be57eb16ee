// Linked into every test program and example of the i386 ASan build when it runs under
// qemu-i386 (cmake/qemu_asan.cmake), never into the library.
//
// LeakSanitizer stops the program's threads to scan their stacks and registers, which it
// cannot do under QEMU user mode: at exit it spun for good (a listing of the tests, which
// takes 0.6 s with it off, had not ended after 13 minutes). The armhf build turns it off
// in its preset (ASAN_OPTIONS=detect_leaks=0); i386's preset keeps it on for the kernels
// that run i386 programs natively, so here the program says it is off. Leaks are still
// checked on x86-64 (ASan, Valgrind) and on a native i386 run.
extern "C" int __lsan_is_turned_off() { return 1; }
