// The system's page size, for tests that reason about guard pages and resident pages.
#pragma once

#include <cstddef>

#if defined(_WIN32)
#include <windows.h>
#else
#include <unistd.h>
#endif

namespace tasklets_test {

inline std::size_t page_size() {
#if defined(_WIN32)
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return info.dwPageSize;
#else
    return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
#endif
}

}  // namespace tasklets_test
