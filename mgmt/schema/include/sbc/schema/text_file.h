// Reading text-format protobuf files (boards, configs, trust roots) with errors that
// an operator can act on: every message names the file, line and column.
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/message.h>

namespace sbc::schema {

// Parses `file` into `message`. `kind` starts each error line ("board", "config"):
//   board sim.textproto:12:5: Message type "sbc.schema.Port" has no field named "nme".
// Unknown fields are errors. Any thread.
[[nodiscard]] std::expected<void, std::vector<std::string>> ParseTextFile(
    const std::filesystem::path& file, std::string_view kind, google::protobuf::Message* message);

// The same for text already in memory; `origin` names it in messages.
[[nodiscard]] std::expected<void, std::vector<std::string>> ParseText(
    const std::string& text, std::string_view kind, std::string_view origin,
    google::protobuf::Message* message);

}  // namespace sbc::schema
