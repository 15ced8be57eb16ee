// Catch2's own SIGSEGV handler is installed around each test case and, afterwards,
// replaced by whatever it found before — which would drop the handler tasklets installs
// to report stack overflows. The library's signal handling is under test here, so
// Catch2 keeps its hands off signals. On Windows the same goes for its vectored exception
// handler (and the stack guarantee it sets), which would run before the library's.
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#define CATCH_CONFIG_NO_WINDOWS_SEH
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
