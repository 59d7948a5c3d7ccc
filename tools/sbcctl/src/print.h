// sbcctl's output: text for people, JSON (protobuf's own printer) for scripts.
#pragma once

#include <string>

#include "sbc/schema/control.pb.h"

namespace sbc::tools {

[[nodiscard]] std::string AsJson(const schema::Response& response);
[[nodiscard]] std::string AsText(schema::Rpc rpc, const schema::Response& response);

}  // namespace sbc::tools
