// tasklets/serial_cereal.hpp — types that cereal (https://uscilab.github.io/cereal/) can
// serialise become serialisable (tasklets/serial.hpp) without writing anything else, so
// that a program's existing types can be journaled, passed as durable arguments and kept
// in checkpoints.
//
// Needs cereal's headers (Debian: libcereal-dev; header-only, so nothing to link); the
// core library does not, and nothing else of tasklets includes this header. Why cereal:
// it is header-only, packaged by Debian, widely used, and its portable binary archive
// fixes the byte order, so what x86-64 saves, AArch64 or s390x loads. (Boost.Serialization
// needs a compiled library and has no portable binary archive of its own; Protocol
// Buffers needs a schema and generated types, which a program's existing types lack.)
//
// A class with cereal's member or non-member serialize, save/load or save_minimal/
// load_minimal functions (versioned or not) is covered; built-in types (tasklets/
// serial.hpp's table) and types with a fields() member keep their own encoding. The value
// is stored as a count and the bytes of a cereal::PortableBinaryOutputArchive holding it
// alone, little-endian on every machine. Loading refuses bytes that cereal cannot read, or
// that it reads without using them all, with image_error. cereal trusts the sizes inside
// its archive: a damaged one may make it allocate up to that size before it finds the
// bytes missing; an image's checksum (tasklets/image.hpp) refuses damaged bytes before
// they get here.
#pragma once

#include <tasklets/serial.hpp>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>

#include <cstdlib>
#include <exception>

#include <sstream>
#include <string>
#include <type_traits>
#include <typeinfo>
#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

namespace tasklets {

namespace detail {

// T's name for messages, demangled where the ABI offers it ("(anonymous namespace)::inventory").
template <class T>
std::string cereal_type_name() {
#if __has_include(<cxxabi.h>)
    int status = 0;
    char* name = abi::__cxa_demangle(typeid(T).name(), nullptr, nullptr, &status);
    if (name) {
        std::string s(name);
        std::free(name);
        return s;
    }
#endif
    return typeid(T).name();
}

// A class that cereal can save and load, and that tasklets/serial.hpp does not encode
// itself (standard types it knows, and types with a fields() member, keep that encoding
// even when cereal/types/*.hpp is included).
template <class T>
concept cereal_only = std::is_class_v<T> && !has_fields<T> && !is_builtin_template<T>::value &&
                      cereal::traits::is_output_serializable<T, cereal::PortableBinaryOutputArchive>::value &&
                      cereal::traits::is_input_serializable<T, cereal::PortableBinaryInputArchive>::value;

}  // namespace detail

template <class T>
struct serial<T, std::enable_if_t<detail::cereal_only<T>>> {
    static void save(serial_writer& w, const T& value) {
        std::ostringstream out(std::ios::binary);
        {
            // Little-endian always, as the rest of the encoding: cereal's default keeps the
            // writer's byte order (and converts on load), so a big-endian machine's image
            // would differ byte for byte from a little-endian one's.
            cereal::PortableBinaryOutputArchive archive(out, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
            archive(value);
        }
        const std::string bytes = std::move(out).str();
        w.unsigned_varint(bytes.size());
        w.raw(bytes.data(), bytes.size());
    }
    static void load(serial_reader& r, T& value) {
        const std::size_t n = r.count("a cereal value");
        std::string bytes(n, '\0');
        r.raw(bytes.data(), n, "a cereal value");
        std::istringstream in(std::move(bytes), std::ios::binary);
        try {
            cereal::PortableBinaryInputArchive archive(in);
            archive(value);
        } catch (const std::exception& e) {
            // cereal::Exception when it runs out of bytes; std::bad_alloc or length_error
            // when a damaged size inside its archive asks for more memory than exists
            // (cereal trusts its sizes: an image's checksum is what catches the damage).
            r.fail("cereal could not read a " + detail::cereal_type_name<T>() + " from its " + std::to_string(n) +
                   " bytes: " + e.what());
        }
        if (in.peek() != std::char_traits<char>::eof())
            r.fail("cereal read a " + detail::cereal_type_name<T>() + " without using all of its " +
                   std::to_string(n) + " bytes");
    }
};

}  // namespace tasklets
