// Writing files so that a crash or power cut at any instant leaves the old content or
// the new, never neither and never a mix.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace sbc::mgmt::base {

// Called after each durable step of a write ("state.pb:temp-written",
// ":temp-synced", ":renamed", ":dir-synced"), so tests can crash the process between
// any two of them. Production passes none.
using CrashHook = std::function<void(std::string_view step)>;

// Writes `bytes` to dir/name: a temp file in the same directory, fsync, rename over
// the target, fsync the directory. Returns the failing step and errno text.
[[nodiscard]] std::expected<void, std::string> WriteFileAtomically(const std::filesystem::path& dir,
                                                                   const std::string& name,
                                                                   std::string_view bytes,
                                                                   const CrashHook& hook = {});

// The whole file, or an error naming it.
[[nodiscard]] std::expected<std::string, std::string> ReadFile(const std::filesystem::path& file);

// Removes temp files a crash left in `dir`. Returns how many it removed.
size_t RemoveTempFiles(const std::filesystem::path& dir);

}  // namespace sbc::mgmt::base
