// spec_log.hpp — small helpers shared by the tests/test_spec_*.cpp files.
//
// The spec tests record what the tasklets do in an event log (an ordered list of strings)
// and compare it, whole, with the ordering the rules of docs/semantics.md demand.
#pragma once

#include <tasklets/tasklets.hpp>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace spec {

using event_log = std::vector<std::string>;

/// Appends `text` to the log when destroyed. Put one on a tasklet's stack to see that the
/// stack is unwound (destructors run, as Python's `finally`) when the tasklet is killed.
class on_exit_log {
public:
    on_exit_log(event_log& log, std::string text) : log_(log), text_(std::move(text)) {}
    on_exit_log(const on_exit_log&) = delete;
    on_exit_log& operator=(const on_exit_log&) = delete;
    ~on_exit_log() { log_.push_back(text_); }

private:
    event_log& log_;
    std::string text_;
};

/// The first line of an error message: a deadlock_error's what() may go on with a list of
/// the blocked tasklets after it.
inline std::string first_line(const std::string& what) { return what.substr(0, what.find('\n')); }

/// An ordinary exception type for tests (a std::exception, unlike tasklets::tasklet_exit).
struct test_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A second, unrelated exception type (to check that the type survives delivery).
struct other_error : std::logic_error {
    using std::logic_error::logic_error;
};

}  // namespace spec
