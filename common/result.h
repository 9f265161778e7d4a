// Result<T>: the value of an operation that can fail for reasons a user, a peer, the disk or
// the network controls. Broken invariants are not Results: they are LIAISON_ASSERT failures.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace liaison {

// What kind of failure: callers branch on this, people read `message`.
enum class Errc {
  kInvalidInput = 1,  // a user or peer sent something malformed or out of range
  kNotFound,          // the thing asked for does not exist
  kRefused,           // well-formed but not allowed (trust decision)
  kIo,                // the file system or a store failed
  kConflict,          // the state changed under us, or it already exists
  kUnavailable,       // a peer or service could not be reached
};

const char* errcName(Errc code);

struct Error {
  Errc code = Errc::kInvalidInput;
  std::string message;  // one line, names the thing that is wrong (file, record, field)
};

inline Error makeError(Errc code, std::string message) { return Error{code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

[[noreturn]] void assertionFailed(const char* file, int line, const char* expr,
                                  const std::string& detail);

}  // namespace liaison

// An always-on check of an invariant the program itself maintains (never of input).
#define LIAISON_ASSERT(expr, detail)                                                \
  do {                                                                              \
    if (!(expr)) ::liaison::assertionFailed(__FILE__, __LINE__, #expr, (detail));   \
  } while (false)

// Propagates an error from an expression yielding Result<...>.
#define LIAISON_TRY(expr)                      \
  do {                                         \
    auto&& liaison_try_r_ = (expr);            \
    if (!liaison_try_r_.ok()) return liaison_try_r_.error(); \
  } while (false)
