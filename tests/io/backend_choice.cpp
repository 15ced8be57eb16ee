// Prints the I/O backend this process chose (tasklets::current_io_backend()), or the
// error that choosing it threw: ctest runs it under several TASKLETS_IO_BACKEND values
// and compares the output (tests/CMakeLists.txt).
#include <tasklets/io.hpp>

#include <cstdio>
#include <exception>

int main() {
    try {
        std::printf("%s\n", std::string(tasklets::to_string(tasklets::current_io_backend())).c_str());
        return 0;
    } catch (const std::exception& e) {
        std::printf("error: %s\n", e.what());
        return 1;
    }
}
