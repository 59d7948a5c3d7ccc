#include "sbc/schema/text_file.h"

#include <fstream>
#include <sstream>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

namespace sbc::schema {
namespace {

// Collects the text-format parser's messages instead of letting protobuf log them.
class CollectingErrors final : public google::protobuf::io::ErrorCollector {
 public:
  CollectingErrors(std::string prefix, std::vector<std::string>* errors)
      : prefix_(std::move(prefix)), errors_(errors) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The parser counts from 0; editors count from 1.
    errors_->push_back(prefix_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) +
                       ": " + message);
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }

 private:
  std::string prefix_;
  std::vector<std::string>* errors_;
};

}  // namespace

std::expected<void, std::vector<std::string>> ParseText(const std::string& text,
                                                        std::string_view kind,
                                                        std::string_view origin,
                                                        google::protobuf::Message* message) {
  std::vector<std::string> errors;
  CollectingErrors collector(std::string(kind) + " " + std::string(origin), &errors);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  if (!parser.ParseFromString(text, message)) {
    if (errors.empty())
      errors.push_back(std::string(kind) + " " + std::string(origin) + ": not valid text format");
    return std::unexpected(std::move(errors));
  }
  return {};
}

std::expected<void, std::vector<std::string>> ParseTextFile(const std::filesystem::path& file,
                                                            std::string_view kind,
                                                            google::protobuf::Message* message) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(file, ec);
    return std::unexpected(std::vector<std::string>{std::string(kind) + " " + file.string() + ": " +
                                                    (exists ? "cannot be read" : "no such file")});
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseText(text.str(), kind, file.string(), message);
}

}  // namespace sbc::schema
