// Name lookups (include/tasklets/io.hpp: resolve, stream::connect by host name): the
// system's getaddrinfo, run on a helper thread so that only the calling tasklet waits.
//
// Why not c-ares (Debian's libc-ares-dev)? It speaks DNS only: names from /etc/hosts
// work, but not the rest of /etc/nsswitch.conf (mDNS, LDAP, systemd-resolved's NSS
// module), so the same name could resolve differently in tasklets than in every other
// program on the machine. getaddrinfo on a helper costs a thread hop per lookup, which a
// lookup's own latency dwarfs.
#include "io/reactor.hpp"

#include <tasklets/blocking.hpp>
#include <tasklets/io.hpp>

#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace tasklets::net {

namespace {

class resolver_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "tasklets.resolver"; }
    std::string message(int code) const override { return ::gai_strerror(code); }
};

// What a lookup gives back from its helper: the addresses, or the error.
struct lookup {
    std::vector<address> found;
    int gai = 0;    // 0, or an EAI_* code
    int errnum = 0; // with EAI_SYSTEM
};

lookup look_up(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;  // one entry per address, not one per socket type
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    lookup r;
    const std::string service = std::to_string(port);
    r.gai = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    if (r.gai == EAI_SYSTEM) r.errnum = errno;
    if (r.gai != 0) return r;
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(list, ::freeaddrinfo);
    for (const addrinfo* a = list; a; a = a->ai_next) {
        address one = address::from_sockaddr(a->ai_addr, a->ai_addrlen);
        const bool seen = std::any_of(r.found.begin(), r.found.end(), [&](const address& x) {
            return x.size() == one.size() && std::memcmp(x.data(), one.data(), one.size()) == 0;
        });
        if (!seen) r.found.push_back(one);
    }
    return r;
}

}  // namespace

const std::error_category& resolver_category() noexcept {
    static const resolver_error_category category;
    return category;
}

std::vector<address> resolve(std::string_view host, std::uint16_t port, deadline d) {
    const std::string what = "resolve \"" + std::string(host) + "\"";
    if (host.empty()) throw std::invalid_argument("tasklets: resolve: the host name is empty");
    lookup r = run_blocking([name = std::string(host), port] { return look_up(name, port); }, d, what.c_str());
    if (r.gai == EAI_SYSTEM) throw std::system_error(r.errnum, std::generic_category(), "tasklets: " + what);
    if (r.gai != 0) throw std::system_error(r.gai, resolver_category(), "tasklets: " + what);
    if (r.found.empty()) throw std::system_error(EAI_NONAME, resolver_category(), "tasklets: " + what);
    return std::move(r.found);
}

stream stream::connect(std::string_view host, std::uint16_t port, deadline d) {
    const std::vector<address> candidates = resolve(host, port, d);
    std::string tried;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        tried += (i ? ", " : "") + candidates[i].to_string();
        try {
            return connect(candidates[i], d);
        } catch (const std::system_error& e) {
            if (i + 1 == candidates.size())
                throw std::system_error(e.code(), "tasklets: connect to \"" + std::string(host) + "\" (tried " + tried + ")");
        }
    }
    throw std::logic_error("unreachable");  // resolve() returns at least one address
}

}  // namespace tasklets::net
