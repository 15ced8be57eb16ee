// tasklets/serial.hpp — values as bytes that read back the same on every architecture: the
// encoding of durable images (tasklets/image.hpp, docs/durable.md).
//
// A type is serialisable (the concept tasklets::serialisable) when tasklets::serial<T> has
// save() and load(). Built in:
//
//   type                                      bytes
//   bool                                      one byte, 0 or 1
//   char, signed/unsigned char (so int8_t     one byte, as it is in memory
//     and uint8_t), std::byte, char8_t
//   other integers, char16_t, char32_t        LEB128 varint (signed: zigzag first), so that
//                                             the value, not the width, is stored: a long
//                                             saved on x86-64 loads into a 32-bit long if it
//                                             fits, and is refused with image_error if not
//   enumerations                              as their underlying integer
//   float, double                             their IEEE-754 bits, 4 or 8 bytes little-endian
//                                             (NaN payloads and -0.0 come back bit-exact;
//                                             on i386, see serial<double>)
//   std::string, std::basic_string<C>         count, then the characters
//   std::vector, std::deque, std::array       count, then the elements (std::array: no
//     std::map, std::unordered_map,           count; std::vector<bool>: one byte each);
//     std::set, std::unordered_set            maps and sets: the entries in iteration
//                                             order, a repeated key refused
//   std::optional                             one byte (0 empty, 1 engaged), then the value
//   std::pair, std::tuple                     the members in order
//   std::variant                              varint index, then the alternative
//   std::chrono::duration                     its count()
//
// Counts are unsigned varints. Everything is little-endian, nothing is padded or aligned.
//
// Your own types: give them a member template that names their fields, the same function
// for both directions (the `f` it gets is a serial_writer when saving and a serial_reader
// when loading, so it must only pass members to f, never change them):
//
//     struct agent {
//         int id = 0;
//         std::string name;
//         std::vector<double> path;
//         template <class F> void fields(F& f) { f(id, name, path); }
//     };
//
// or specialise tasklets::serial<T> with `static void save(serial_writer&, const T&)` and
// `static void load(serial_reader&, T&)`. Types that already have cereal functions work
// through tasklets/serial_cereal.hpp. Loading needs a default-constructible T (it loads
// into an existing object, as cereal does).
//
// Refused at compile time, with a message saying why: pointers (they point into one
// process's memory), long double and wchar_t (their size differs between architectures),
// std::string_view and std::span (they do not own what they show).
//
// Reading never trusts the bytes: every read checks what is left, every count is checked
// against the bytes left before anything is allocated, and every malformed byte (a bool
// of 7, a variant index past the end, a varint longer than 10 bytes, a value too wide for
// its type) throws image_error saying what was read and where.
#pragma once

#include <tasklets/errors.hpp>

#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace tasklets {

/// The customisation point: save(serial_writer&, const T&) and load(serial_reader&, T&).
/// Specialised below for the built-in types and for types with a fields() member.
template <class T, class Enable = void>
struct serial;

/// Writes values as bytes (the encoding in the header comment), appending to a buffer.
class serial_writer {
public:
    serial_writer() = default;

    /// Appends each value, in order.
    template <class... T>
    void operator()(const T&... values);

    // The primitives the built-in types are written with; a serial<T> specialisation
    // may use them too.
    void byte(std::uint8_t b) { out_.push_back(static_cast<std::byte>(b)); }
    void raw(const void* data, std::size_t size);
    void unsigned_varint(std::uint64_t v);
    void signed_varint(std::int64_t v);  ///< zigzag, then unsigned_varint
    void fixed32(std::uint32_t v);       ///< 4 bytes, little-endian
    void fixed64(std::uint64_t v);       ///< 8 bytes, little-endian

    const std::vector<std::byte>& bytes() const noexcept { return out_; }
    /// The bytes written so far, leaving the writer empty.
    std::vector<std::byte> take() noexcept { return std::exchange(out_, {}); }
    std::size_t size() const noexcept { return out_.size(); }

private:
    std::vector<std::byte> out_;
};

/// Reads values written by serial_writer from a span of bytes it does not own. Every
/// error is an image_error whose message says what was being read, at which byte of
/// what: "tasklets: section WRLD of a durable image, byte 17 of 20: truncated: a double of
/// 8 bytes needs 5 more bytes than are left".
class serial_reader {
public:
    /// `what`: names the bytes in messages ("section WRLD of a durable image").
    explicit serial_reader(std::span<const std::byte> bytes, std::string what = "serialised data")
        : data_(bytes), what_(std::move(what)) {}

    /// Reads into each value, in order.
    template <class... T>
    void operator()(T&... values);
    /// Reads one value of type T (default-constructed, then loaded).
    template <class T>
    T read() {
        T value{};
        serial<T>::load(*this, value);
        return value;
    }

    // The primitives; `reading` names the value for the error messages ("a bool").
    std::uint8_t byte(const char* reading);
    void raw(void* data, std::size_t size, const char* reading);
    std::uint64_t unsigned_varint(const char* reading);
    std::int64_t signed_varint(const char* reading);
    std::uint32_t fixed32(const char* reading);
    std::uint64_t fixed64(const char* reading);
    /// A count of elements, each encoded in at least `min_element_bytes` bytes: more than
    /// the bytes left can hold is refused before anything is allocated. Elements that take
    /// no bytes (empty classes) pass 0, and are limited to max_empty_elements.
    std::size_t count(const char* reading, std::size_t min_element_bytes = 1);
    static constexpr std::size_t max_empty_elements = std::size_t{1} << 20;

    std::size_t position() const noexcept { return pos_; }
    std::size_t remaining() const noexcept { return data_.size() - pos_; }
    /// Throws image_error if bytes are left: what was read did not fill what was written.
    void expect_end() const;
    /// Throws image_error with `problem`, prefixed by what and where.
    [[noreturn]] void fail(const std::string& problem) const;

private:
    std::uint64_t varint(const char* reading, const char* suffix);

    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
    std::string what_;
};

namespace detail {

// Accepts any arguments: detects a fields() member without knowing the field types.
struct fields_probe {
    template <class... T>
    void operator()(T&...) {}
};

template <class T>
concept has_fields = std::is_class_v<T> && requires(T& t, fields_probe& p) { t.fields(p); };

template <class T>
inline constexpr bool one_byte_integer =
    std::is_same_v<T, char> || std::is_same_v<T, signed char> || std::is_same_v<T, unsigned char> ||
    std::is_same_v<T, char8_t>;

template <class T>
inline constexpr bool varint_integer = std::is_integral_v<T> && !std::is_same_v<T, bool> && !one_byte_integer<T> &&
                                       !std::is_same_v<T, wchar_t>;

[[noreturn]] void throw_does_not_fit(serial_reader& r, const char* kind, std::int64_t v, int bits);
[[noreturn]] void throw_does_not_fit(serial_reader& r, const char* kind, std::uint64_t v, int bits);

template <class T>
inline constexpr bool always_false = false;

// The standard templates encoded below (tasklets/serial_cereal.hpp leaves them alone).
template <class T>
struct is_builtin_template : std::false_type {};
template <class C, class Tr, class A>
struct is_builtin_template<std::basic_string<C, Tr, A>> : std::true_type {};
template <class T, class A>
struct is_builtin_template<std::vector<T, A>> : std::true_type {};
template <class T, class A>
struct is_builtin_template<std::deque<T, A>> : std::true_type {};
template <class T, std::size_t N>
struct is_builtin_template<std::array<T, N>> : std::true_type {};
template <class K, class V, class C, class A>
struct is_builtin_template<std::map<K, V, C, A>> : std::true_type {};
template <class K, class V, class H, class E, class A>
struct is_builtin_template<std::unordered_map<K, V, H, E, A>> : std::true_type {};
template <class K, class C, class A>
struct is_builtin_template<std::set<K, C, A>> : std::true_type {};
template <class K, class H, class E, class A>
struct is_builtin_template<std::unordered_set<K, H, E, A>> : std::true_type {};
template <class T>
struct is_builtin_template<std::optional<T>> : std::true_type {};
template <class A, class B>
struct is_builtin_template<std::pair<A, B>> : std::true_type {};
template <class... T>
struct is_builtin_template<std::tuple<T...>> : std::true_type {};
template <class... T>
struct is_builtin_template<std::variant<T...>> : std::true_type {};
template <class R, class P>
struct is_builtin_template<std::chrono::duration<R, P>> : std::true_type {};

}  // namespace detail

/// Refuses at compile time what cannot be durable, saying why.
template <class T>
struct serial<T*> {
    static_assert(detail::always_false<T>,
                  "tasklets::serial: a pointer cannot be serialised: it points into this process's memory. "
                  "Serialise the value it points to, or an index or name that finds it again.");
};
template <class T>
struct serial<T, std::enable_if_t<std::is_same_v<T, long double>>> {
    static_assert(detail::always_false<T>,
                  "tasklets::serial: long double is 64, 80 or 128 bits depending on the architecture; "
                  "store a double.");
};
template <class T>
struct serial<T, std::enable_if_t<std::is_same_v<T, wchar_t>>> {
    static_assert(detail::always_false<T>,
                  "tasklets::serial: wchar_t is 16 bits on Windows and 32 elsewhere; use char16_t or char32_t.");
};
template <class C, class Tr>
struct serial<std::basic_string_view<C, Tr>> {
    static_assert(detail::always_false<C>,
                  "tasklets::serial: a string_view does not own its characters; serialise a std::string.");
};
template <class T, std::size_t N>
struct serial<std::span<T, N>> {
    static_assert(detail::always_false<T>, "tasklets::serial: a span does not own its elements; serialise a std::vector.");
};

template <>
struct serial<bool> {
    static void save(serial_writer& w, bool v) { w.byte(v ? 1 : 0); }
    static void load(serial_reader& r, bool& v) {
        const std::uint8_t b = r.byte("a bool");
        if (b > 1) r.fail("a bool must be 0 or 1, found " + std::to_string(b));
        v = b == 1;
    }
};

template <class T>
struct serial<T, std::enable_if_t<detail::one_byte_integer<T>>> {
    static void save(serial_writer& w, T v) { w.byte(static_cast<std::uint8_t>(v)); }
    static void load(serial_reader& r, T& v) { v = static_cast<T>(r.byte("a one-byte integer")); }
};

template <class T>
struct serial<T, std::enable_if_t<detail::varint_integer<T>>> {
    static void save(serial_writer& w, T v) {
        if constexpr (std::is_signed_v<T>) w.signed_varint(static_cast<std::int64_t>(v));
        else w.unsigned_varint(static_cast<std::uint64_t>(v));
    }
    static void load(serial_reader& r, T& v) {
        if constexpr (std::is_signed_v<T>) {
            const std::int64_t x = r.signed_varint("a signed integer");
            if (x < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
                x > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
                detail::throw_does_not_fit(r, "signed", x, std::numeric_limits<T>::digits + 1);
            v = static_cast<T>(x);
        } else {
            const std::uint64_t x = r.unsigned_varint("an unsigned integer");
            if (x > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
                detail::throw_does_not_fit(r, "unsigned", x, std::numeric_limits<T>::digits);
            v = static_cast<T>(x);
        }
    }
};

template <class T>
struct serial<T, std::enable_if_t<std::is_enum_v<T>>> {
    using U = std::underlying_type_t<T>;
    static void save(serial_writer& w, T v) { serial<U>::save(w, static_cast<U>(v)); }
    static void load(serial_reader& r, T& v) {
        U u{};
        serial<U>::load(r, u);
        v = static_cast<T>(u);
    }
};

// Floats move as bits, through integers and memcpy, never through a floating-point
// register: on i386 the x87 registers turn a signalling NaN quiet. (A double that the
// caller itself passes by value, or gets back from read<double>(), goes through them
// there all the same: keep such values in objects.)
template <>
struct serial<float> {
    static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4, "tasklets::serial needs IEEE-754 floats");
    static void save(serial_writer& w, const float& v) {
        std::uint32_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        w.fixed32(bits);
    }
    static void load(serial_reader& r, float& v) {
        const std::uint32_t bits = r.fixed32("a float");
        std::memcpy(&v, &bits, sizeof bits);
    }
};
template <>
struct serial<double> {
    static_assert(std::numeric_limits<double>::is_iec559 && sizeof(double) == 8, "tasklets::serial needs IEEE-754 doubles");
    static void save(serial_writer& w, const double& v) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        w.fixed64(bits);
    }
    static void load(serial_reader& r, double& v) {
        const std::uint64_t bits = r.fixed64("a double");
        std::memcpy(&v, &bits, sizeof bits);
    }
};

template <class C, class Tr, class A>
struct serial<std::basic_string<C, Tr, A>> {
    static void save(serial_writer& w, const std::basic_string<C, Tr, A>& s) {
        w.unsigned_varint(s.size());
        if constexpr (sizeof(C) == 1) w.raw(s.data(), s.size());
        else for (C c : s) serial<C>::save(w, c);
    }
    static void load(serial_reader& r, std::basic_string<C, Tr, A>& s) {
        const std::size_t n = r.count("a string");
        s.clear();
        if constexpr (sizeof(C) == 1) {
            s.resize(n);
            r.raw(s.data(), n, "a string");
        } else {
            s.reserve(n);
            for (std::size_t i = 0; i < n; ++i) s.push_back(r.read<C>());
        }
    }
};

namespace detail {
template <class T>
constexpr std::size_t min_bytes() noexcept {
    return std::is_empty_v<T> ? 0 : 1;
}
}  // namespace detail

namespace detail {
/// vector and deque: a count, then the elements, front to back.
template <class Seq>
struct sequence_serial {
    using T = typename Seq::value_type;
    static void save(serial_writer& w, const Seq& v) {
        w.unsigned_varint(v.size());
        for (const T& e : v) serial<T>::save(w, e);
    }
    static void load(serial_reader& r, Seq& v) {
        constexpr bool vector = std::is_same_v<Seq, std::vector<T, typename Seq::allocator_type>>;
        const std::size_t n = r.count(vector ? "a vector" : "a deque", min_bytes<T>());
        v.clear();
        if constexpr (requires { v.reserve(n); }) v.reserve(n);
        for (std::size_t i = 0; i < n; ++i) serial<T>::load(r, v.emplace_back());
    }
};
}  // namespace detail

template <class T, class A>
struct serial<std::vector<T, A>> : detail::sequence_serial<std::vector<T, A>> {};
template <class T, class A>
struct serial<std::deque<T, A>> : detail::sequence_serial<std::deque<T, A>> {};

template <class A>
struct serial<std::vector<bool, A>> {
    static void save(serial_writer& w, const std::vector<bool, A>& v) {
        w.unsigned_varint(v.size());
        for (bool b : v) serial<bool>::save(w, b);
    }
    static void load(serial_reader& r, std::vector<bool, A>& v) {
        const std::size_t n = r.count("a vector<bool>");
        v.clear();
        v.reserve(n);
        for (std::size_t i = 0; i < n; ++i) v.push_back(r.read<bool>());
    }
};

template <class T, std::size_t N>
struct serial<std::array<T, N>> {
    static void save(serial_writer& w, const std::array<T, N>& a) {
        for (const T& e : a) serial<T>::save(w, e);
    }
    static void load(serial_reader& r, std::array<T, N>& a) {
        for (T& e : a) serial<T>::load(r, e);
    }
};

namespace detail {
// Maps and sets: count, then entries; a key seen twice means the bytes are not what a
// writer wrote.
template <class K, class V>
struct entry {
    K key{};
    V value{};
};
}  // namespace detail

template <class K, class V, class C, class A>
struct serial<std::map<K, V, C, A>> {
    static void save(serial_writer& w, const std::map<K, V, C, A>& m) {
        w.unsigned_varint(m.size());
        for (const auto& [k, v] : m) w(k, v);
    }
    static void load(serial_reader& r, std::map<K, V, C, A>& m) {
        const std::size_t n = r.count("a map", detail::min_bytes<K>() + detail::min_bytes<V>());
        m.clear();
        for (std::size_t i = 0; i < n; ++i) {
            detail::entry<K, V> e;
            r(e.key, e.value);
            if (!m.emplace(std::move(e.key), std::move(e.value)).second) r.fail("a map has a key twice");
        }
    }
};
template <class K, class V, class H, class E, class A>
struct serial<std::unordered_map<K, V, H, E, A>> {
    static void save(serial_writer& w, const std::unordered_map<K, V, H, E, A>& m) {
        w.unsigned_varint(m.size());
        for (const auto& [k, v] : m) w(k, v);
    }
    static void load(serial_reader& r, std::unordered_map<K, V, H, E, A>& m) {
        const std::size_t n = r.count("an unordered_map", detail::min_bytes<K>() + detail::min_bytes<V>());
        m.clear();
        m.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            detail::entry<K, V> e;
            r(e.key, e.value);
            if (!m.emplace(std::move(e.key), std::move(e.value)).second) r.fail("an unordered_map has a key twice");
        }
    }
};
template <class K, class C, class A>
struct serial<std::set<K, C, A>> {
    static void save(serial_writer& w, const std::set<K, C, A>& s) {
        w.unsigned_varint(s.size());
        for (const K& k : s) w(k);
    }
    static void load(serial_reader& r, std::set<K, C, A>& s) {
        const std::size_t n = r.count("a set", detail::min_bytes<K>());
        s.clear();
        for (std::size_t i = 0; i < n; ++i)
            if (!s.insert(r.read<K>()).second) r.fail("a set has an element twice");
    }
};
template <class K, class H, class E, class A>
struct serial<std::unordered_set<K, H, E, A>> {
    static void save(serial_writer& w, const std::unordered_set<K, H, E, A>& s) {
        w.unsigned_varint(s.size());
        for (const K& k : s) w(k);
    }
    static void load(serial_reader& r, std::unordered_set<K, H, E, A>& s) {
        const std::size_t n = r.count("an unordered_set", detail::min_bytes<K>());
        s.clear();
        s.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
            if (!s.insert(r.read<K>()).second) r.fail("an unordered_set has an element twice");
    }
};

template <class T>
struct serial<std::optional<T>> {
    static void save(serial_writer& w, const std::optional<T>& o) {
        w.byte(o ? 1 : 0);
        if (o) serial<T>::save(w, *o);
    }
    static void load(serial_reader& r, std::optional<T>& o) {
        const std::uint8_t b = r.byte("an optional's flag");
        if (b > 1) r.fail("an optional's flag must be 0 or 1, found " + std::to_string(b));
        if (b == 0) {
            o.reset();
            return;
        }
        serial<T>::load(r, o.emplace());
    }
};

template <class A, class B>
struct serial<std::pair<A, B>> {
    static void save(serial_writer& w, const std::pair<A, B>& p) { w(p.first, p.second); }
    static void load(serial_reader& r, std::pair<A, B>& p) { r(p.first, p.second); }
};

template <class... T>
struct serial<std::tuple<T...>> {
    static void save(serial_writer& w, const std::tuple<T...>& t) {
        std::apply([&w](const T&... e) { w(e...); }, t);
    }
    static void load(serial_reader& r, std::tuple<T...>& t) {
        std::apply([&r](T&... e) { r(e...); }, t);
    }
};

template <class... T>
struct serial<std::variant<T...>> {
    static void save(serial_writer& w, const std::variant<T...>& v) {
        if (v.valueless_by_exception())
            throw std::invalid_argument("tasklets::serial: a variant that is valueless by exception cannot be saved");
        w.unsigned_varint(v.index());
        std::visit([&w](const auto& e) { w(e); }, v);
    }
    static void load(serial_reader& r, std::variant<T...>& v) {
        const std::uint64_t i = r.unsigned_varint("a variant's index");
        if (i >= sizeof...(T))
            r.fail("a variant's index is " + std::to_string(i) + ", but it has " + std::to_string(sizeof...(T)) +
                   " alternatives");
        load_alternative(r, v, static_cast<std::size_t>(i), std::index_sequence_for<T...>{});
    }

private:
    template <std::size_t... I>
    static void load_alternative(serial_reader& r, std::variant<T...>& v, std::size_t i, std::index_sequence<I...>) {
        ((i == I ? (void)serial<std::variant_alternative_t<I, std::variant<T...>>>::load(r, v.template emplace<I>())
                 : (void)0),
         ...);
    }
};

template <class Rep, class Period>
struct serial<std::chrono::duration<Rep, Period>> {
    static void save(serial_writer& w, const std::chrono::duration<Rep, Period>& d) { serial<Rep>::save(w, d.count()); }
    static void load(serial_reader& r, std::chrono::duration<Rep, Period>& d) {
        d = std::chrono::duration<Rep, Period>(r.read<Rep>());
    }
};

/// Types with a `template <class F> void fields(F& f)` member (see the header comment).
template <class T>
struct serial<T, std::enable_if_t<detail::has_fields<T>>> {
    static void save(serial_writer& w, const T& v) { const_cast<T&>(v).fields(w); }
    static void load(serial_reader& r, T& v) { v.fields(r); }
};

/// True when serial<T> can save and load T.
template <class T>
concept serialisable = requires(serial_writer& w, serial_reader& r, const T& c, T& m) {
    serial<T>::save(w, c);
    serial<T>::load(r, m);
};

template <class... T>
void serial_writer::operator()(const T&... values) {
    static_assert((serialisable<T> && ...), "tasklets::serial: a type here has no serial<T>: give it a "
                                            "`template <class F> void fields(F& f)` member or specialise tasklets::serial");
    (serial<T>::save(*this, values), ...);
}

template <class... T>
void serial_reader::operator()(T&... values) {
    static_assert((serialisable<T> && ...), "tasklets::serial: a type here has no serial<T>: give it a "
                                            "`template <class F> void fields(F& f)` member or specialise tasklets::serial");
    (serial<T>::load(*this, values), ...);
}

/// The bytes of `values`, written in order.
template <class... T>
std::vector<std::byte> to_bytes(const T&... values) {
    serial_writer w;
    w(values...);
    return w.take();
}

/// One T read from `bytes`, which must hold exactly one (else image_error).
template <class T>
T from_bytes(std::span<const std::byte> bytes) {
    serial_reader r(bytes);
    T value = r.read<T>();
    r.expect_end();
    return value;
}

}  // namespace tasklets
